"""Fixtures the outbox's test modules share: the scripted provider backends and a still clock."""

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

from tests.portal import outbox_backends


@pytest.fixture
def scripted_backends(settings: Any) -> Iterator[list[tuple[str, BaseException]]]:
    """E-mails and texts go to backends that fail as scripted; yields the e-mail script."""
    settings.EMAIL_BACKEND = "tests.portal.outbox_backends.ScriptedEmailBackend"
    settings.SMS_BACKEND = "tests.portal.outbox_backends.ScriptedSmsBackend"
    outbox_backends.script.clear()
    outbox_backends.sms_script.clear()
    yield outbox_backends.script
    outbox_backends.script.clear()
    outbox_backends.sms_script.clear()


@pytest.fixture
def scripted_sms(scripted_backends: Any) -> list[tuple[str, BaseException]]:
    """The texts' script, with the same scripted backends."""
    return outbox_backends.sms_script


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(outbox_backends.NOW, tick=False) as traveller:
        yield traveller
