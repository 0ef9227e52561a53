"""Mail and SMS test backends that fail on cue, before or after the "provider" took the message.

`script` (e-mail) and `sms_script` (texts) hold what the next sends do, in order: ("before",
error) raises without delivering, ("after", error) delivers to the test outbox and then raises
(the provider accepted, the answer was lost, or the worker died). With nothing scripted a send
is delivered normally.
"""

import datetime
from collections.abc import Sequence
from typing import Any

from django.core.mail.backends.locmem import EmailBackend as LocmemEmailBackend
from sms.backends.locmem import SmsBackend as LocmemSmsBackend

# The moment the outbox tests' clock stands still at (tests/portal/conftest.py: `clock`).
NOW = datetime.datetime(2026, 3, 10, 15, 0, tzinfo=datetime.UTC)

script: list[tuple[str, BaseException]] = []
sms_script: list[tuple[str, BaseException]] = []


class WorkerKilled(BaseException):
    """Stands for the worker process dying: not an Exception, so nothing records it."""


def _next(steps: list[tuple[str, BaseException]]) -> tuple[str, BaseException] | None:
    return steps.pop(0) if steps else None


class ScriptedEmailBackend(LocmemEmailBackend):
    def send_messages(self, messages: Sequence[Any]) -> int:
        step = _next(script)
        if step is not None and step[0] == "before":
            raise step[1]
        sent = super().send_messages(messages)
        if step is not None:
            raise step[1]
        return sent


class EchoingProviderError(Exception):
    """Scripted as ("before", EchoingProviderError()): the provider's error quotes the text."""


class ScriptedSmsBackend(LocmemSmsBackend):
    def send_messages(self, messages: list[Any]) -> int:
        step = _next(sms_script)
        if step is not None and isinstance(step[1], EchoingProviderError):
            raise EchoingProviderError(f"Refused: {messages[0].body}")
        if step is not None and step[0] == "before":
            raise step[1]
        sent = super().send_messages(messages)
        if step is not None:
            raise step[1]
        return sent


class ProviderThenDeathBackend(LocmemEmailBackend):
    """For a worker in another process: the "provider" (a file per message in the directory
    PORTAL_TEST_PROVIDER_DIR) accepts the message, then the worker process dies on the spot."""

    def send_messages(self, messages: Sequence[Any]) -> int:
        import os
        import uuid
        from pathlib import Path

        folder = Path(os.environ["PORTAL_TEST_PROVIDER_DIR"])
        for message in messages:
            (folder / f"{uuid.uuid4().hex}.eml").write_bytes(message.message().as_bytes())
        os._exit(1)  # killed between the provider's acceptance and the mark
