"""Waiting for a real worker's effect, bounded so a lost task fails the test instead of hanging."""

import time
from collections.abc import Callable

WAIT_SECONDS = 10.0


def wait_for(condition: Callable[[], bool], timeout: float = WAIT_SECONDS) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()
