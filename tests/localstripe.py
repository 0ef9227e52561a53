"""localstripe for tests: the Stripe API stand-in the portal's gateway adapter talks to.

Each test process starts its own on a free port (state kept in memory, `--from-scratch`), and
stops it at the end. It is a Python dependency of the project, so it is always there: a failure
to start fails the tests that need it.
"""

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/js.stripe.com/v3/", timeout=1) as response:  # noqa: S310  http to 127.0.0.1
            return bool(response.status == 200)
    except OSError:
        return False


def start(port: int, *, workdir: Path) -> subprocess.Popen[bytes]:
    """Start localstripe on 127.0.0.1:`port` and wait (10 s at most) until it answers."""
    binary = Path(sys.executable).with_name("localstripe")
    process = subprocess.Popen(
        [str(binary), "--port", str(port), "--from-scratch"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if answers(base):
            return process
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"localstripe did not start on port {port}")
