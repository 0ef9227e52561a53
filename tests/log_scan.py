"""Every log line the portal writes while a block runs, rendered as production renders it (JSON,
through settings.LOGGING's formatter and its redaction), and a scan of it for secrets.

    with captured_logs() as logs:
        client.post(reverse("account_login"), {"login": email, "password": password})
    assert logs.leaks(password) == []

`log_scan` is the same as a fixture, for any test (a browser journey too: its live server runs
in the test process, so its requests' lines are captured as well).
"""

import io
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from portal.logs import formatter
from portal.redaction import CARD_NUMBER

# Django and structlog write through the standard library; these loggers are the portal's and
# its libraries': each is opened down to DEBUG for the scan, whatever the settings say.
EVERY_LEVEL = logging.DEBUG


@dataclass
class CapturedLogs:
    stream: io.StringIO = field(default_factory=io.StringIO)

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    def leaks(
        self, *secrets: str, patterns: Iterable[re.Pattern[str]] = (CARD_NUMBER,)
    ) -> list[str]:
        """The lines that show one of `secrets` (empty ones ignored), or a card-like number."""
        wanted = [secret for secret in secrets if secret]
        return [
            line
            for line in self.lines
            if any(secret in line for secret in wanted)
            or any(pattern.search(line) for pattern in patterns)
        ]


@contextmanager
def captured_logs() -> Iterator[CapturedLogs]:
    """Everything logged at any level while the block runs, as production's JSON lines."""
    captured = CapturedLogs()
    handler = logging.StreamHandler(captured.stream)
    handler.setLevel(EVERY_LEVEL)
    handler.setFormatter(_production_formatter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(EVERY_LEVEL)
    try:
        yield captured
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)


def _production_formatter() -> logging.Formatter:
    config = formatter("json")
    factory = config.pop("()")
    return factory(**config)  # type: ignore[no-any-return]


@pytest.fixture
def log_scan() -> Iterator[CapturedLogs]:
    """The log lines of the whole test, to scan with `.leaks(secret, ...)` at its end."""
    with captured_logs() as logs:
        yield logs
