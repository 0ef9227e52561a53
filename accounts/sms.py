"""The one way the portal sends a text message: django-sms behind a small typed function.

The backend comes from settings.SMS_BACKEND (django-sms): the console locally, the in-memory
outbox in tests (`sms.outbox`), a provider such as Twilio in production.
"""

import sms
from django.conf import settings


class SmsNotSent(Exception):
    """The backend accepted nothing; the delivery row stays pending for a retry."""


def send_text(*, to: str, body: str) -> None:
    """Send `body` to one E.164 number. Raises SmsNotSent or what the provider raises."""
    sent = sms.send_sms(body=body, originator=settings.DEFAULT_FROM_SMS, recipients=[to])
    if sent != 1:
        raise SmsNotSent(f"the SMS backend sent {sent} message(s)")
