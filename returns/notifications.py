"""Placeholder: being written (recipients' per-event and daily e-mails, unsubscribe)."""

from typing import Any


def event_email_context(delivery: Any) -> dict[str, Any]:
    raise NotImplementedError


def summary_email_context(delivery: Any) -> dict[str, Any]:
    raise NotImplementedError


def add_unsubscribe(delivery: Any, message: Any, context: dict[str, Any]) -> None:
    raise NotImplementedError


def queue_event_notices(event: Any) -> int:
    raise NotImplementedError
