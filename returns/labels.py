"""Placeholder: being written (label PDF, barcode, QR code, the customer's e-mail)."""

from typing import Any


def label_email_context(delivery: Any) -> dict[str, Any]:
    raise NotImplementedError


def attach_label(delivery: Any, message: Any, context: dict[str, Any]) -> None:
    raise NotImplementedError
