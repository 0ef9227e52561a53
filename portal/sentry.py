"""Error reports to Sentry (when SENTRY_DSN is set), with no personal data in them.

`send_default_pii=False` keeps out the user, their address, cookies and headers, and Sentry's
own scrubber blanks the usual secrets. `scrub_event` goes further on whatever else an event
carries (the message, a form's data, a frame's local variables, breadcrumbs): the secrets the
logs never show (portal.redaction), and e-mail addresses, phone numbers and dates of birth.
"""

import re
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

from portal.redaction import SECRET_KEY_PARTS, redact

PERSONAL_KEY_PARTS = (
    *SECRET_KEY_PARTS,
    "email",
    "e_mail",
    "phone",
    "mobile",
    "birth",
    "dob",
)
EMAIL_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# +15145550123, and North American numbers written with separators: 514 555-0123, (514) 555.0123.
PHONE_NUMBER = re.compile(r"\+\d{10,15}\b|(?<!\d)\(?[2-9]\d{2}\)?[ .-]\d{3}[ .-]\d{4}\b")
PERSONAL_PATTERNS = (EMAIL_ADDRESS, PHONE_NUMBER)
# What describes the event rather than a person: left as it is.
STRUCTURE_KEYS = ("event_id", "timestamp", "start_timestamp", "release", "environment", "sdk")


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sentry's before_send: the event with secrets and personal data blanked."""
    return {
        key: value
        if key in STRUCTURE_KEYS
        else redact(value, key_parts=PERSONAL_KEY_PARTS, patterns=PERSONAL_PATTERNS)
        for key, value in event.items()
    }


def init_sentry(*, dsn: str, environment: str, traces_sample_rate: float = 0.0) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        before_send=scrub_event,  # type: ignore[arg-type]
        before_send_transaction=scrub_event,  # type: ignore[arg-type]
        traces_sample_rate=traces_sample_rate,
    )
