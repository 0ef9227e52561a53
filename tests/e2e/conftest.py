"""Journeys in Debian's headless Chromium through pytest-playwright (never `playwright install`)."""

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_service

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    require_service(f"Chromium at {CHROMIUM}", CHROMIUM.exists() and bool(shutil.which(CHROMIUM)))
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture
def console_messages(page: Any) -> Iterator[list[str]]:
    """Everything the page wrote to the console, and its uncaught errors, as "type: text"."""
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: messages.append(f"pageerror: {error}"))
    yield messages


@pytest.fixture(autouse=True)
def _no_secret_in_the_logs() -> Iterator[None]:
    """After each journey, no log line shows a card number or a known password.

    The live server runs in this process, so every line its requests and their tasks write is
    captured here, rendered as production renders it.
    """
    from tests.factories import DEFAULT_PASSWORD
    from tests.log_scan import captured_logs

    with captured_logs() as logs:
        yield
    assert logs.leaks(DEFAULT_PASSWORD) == []
