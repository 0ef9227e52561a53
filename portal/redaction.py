"""What must never leave the portal in a log line or an error report, and the one function that
blanks it out of any nested value (a structlog event, a Sentry event).

Two nets: by key (a value filed under `password`, `token`, ... is blanked whatever it looks
like) and by pattern (a card-like number, a signed token in a link path or a `key=value` pair is
blanked wherever it sits in a string: a request line, a formatted message, a traceback).
"""

import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"

# Parts of a key whose value is a secret in every context.
SECRET_KEY_PARTS: tuple[str, ...] = (
    "password",
    "passwd",
    "token",
    "secret",
    "otp",
    "card_number",
    "cardnumber",
    "cvc",
    "cvv",
    "authorization",
    "cookie",
    "csrf",
    "sessionid",
    "api_key",
    "apikey",
    "signature",
    "nonce",
)

# 13 to 19 digits, spaces or dashes allowed between them: a payment card number.
CARD_NUMBER = re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])")
# The paths whose next segment is a bearer token: the removal link, the direct return link, the
# one-click unsubscribe, and allauth's e-mail confirmation and password reset keys.
TOKEN_IN_PATH = re.compile(
    r"(/(?:removal|return|returns/unsubscribe|confirm-email|password/reset/key)/)[^/\s?#\"']+"
)
# `password=...`, `"token": "..."`, `secret: ...` in free text, query strings and reprs.
SECRET_PAIR = re.compile(
    r"(?i)(\b[\w-]*(?:password|passwd|token|secret|otp)[\w-]*['\"]?\s*[:=]\s*['\"]?)"
    r"[^'\"&\s,;}]+"
)
# django.core.signing output (payload:timestamp:signature), wherever it appears.
SIGNED_VALUE = re.compile(r"\b[\w-]{8,}:[A-Za-z0-9]{4,}:[\w-]{20,}")
BEARER = re.compile(r"(?i)\b(bearer\s+)\S+")


def is_secret_key(key: str, parts: Iterable[str] = SECRET_KEY_PARTS) -> bool:
    lowered = key.lower()
    return any(part in lowered for part in parts)


def redact_text(text: str, patterns: Iterable[re.Pattern[str]] = ()) -> str:
    """`text` with every secret-looking part replaced by REDACTED (and each extra pattern's
    matches)."""
    text = TOKEN_IN_PATH.sub(rf"\1{REDACTED}", text)
    text = SECRET_PAIR.sub(rf"\1{REDACTED}", text)
    text = BEARER.sub(rf"\1{REDACTED}", text)
    text = SIGNED_VALUE.sub(REDACTED, text)
    text = CARD_NUMBER.sub(REDACTED, text)
    for pattern in patterns:
        text = pattern.sub(REDACTED, text)
    return text


def redact(
    value: Any,
    *,
    key_parts: Iterable[str] = SECRET_KEY_PARTS,
    patterns: Iterable[re.Pattern[str]] = (),
) -> Any:
    """A copy of `value` (dicts, lists, tuples and strings, nested) with secrets blanked: the
    value of a key containing one of `key_parts`, and what the patterns match in strings."""
    key_parts, patterns = tuple(key_parts), tuple(patterns)
    if isinstance(value, str):
        return redact_text(value, patterns)
    if isinstance(value, dict):
        return {
            key: REDACTED
            if isinstance(key, str) and is_secret_key(key, key_parts) and item not in (None, "")
            else redact(item, key_parts=key_parts, patterns=patterns)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        items = [redact(item, key_parts=key_parts, patterns=patterns) for item in value]
        return items if isinstance(value, list) else tuple(items)
    return value
