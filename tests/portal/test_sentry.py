"""Error reports: Sentry only with a DSN, and no personal data or secret in what is sent."""

import os
import subprocess
import sys
from pathlib import Path

from portal.redaction import REDACTED
from portal.sentry import scrub_event

BASE_DIR = Path(__file__).resolve().parents[2]
CARD = "4242 4242 4242 4242"


def crafted_event() -> dict:
    """What the Django integration sends for an error in a view, with the worst it could hold."""
    return {
        "event_id": "0123456789abcdef0123456789abcdef",
        "timestamp": "2026-11-28T10:00:00.123456Z",
        "level": "error",
        "message": "Payment failed for ana.roy@boreal.example (514 555-0123) with card " + CARD,
        "user": {"id": 42},
        "request": {
            "url": "https://portal.example/business/removal/eyJuIjo0Mn0:1uX2Ab:Zm9vYmFyYmF6cXV4cXV1eA/",
            "method": "POST",
            "query_string": "next=/home/&token=abcdef123456",
            "data": {
                "email": "ana.roy@boreal.example",
                "mobile_phone": "+15145550123",
                "date_of_birth": "1984-03-07",
                "password": "Correct-horse-battery-9",
                "note": "call me at +15145550123",
            },
            "headers": {"Authorization": "Bearer sk_live_abc", "User-Agent": "Firefox"},
        },
        "exception": {
            "values": [
                {
                    "type": "CardError",
                    "value": f"Your card {CARD} was declined",
                    "stacktrace": {
                        "frames": [
                            {
                                "function": "pay",
                                "vars": {
                                    "temporary_password": "'Xk3-9aQ2-Lm'",
                                    "contact": "{'email': 'owen@mapleleaf.example'}",
                                    "amount": "'1234.56'",
                                },
                            }
                        ]
                    },
                }
            ]
        },
        "breadcrumbs": {
            "values": [{"category": "query", "message": "SELECT ... WHERE email = 'x@y.example'"}]
        },
    }


def test_before_send_blanks_personal_data_and_secrets_and_keeps_the_rest():
    event = scrub_event(crafted_event(), {})
    text = repr(event)

    for personal in (
        "ana.roy@boreal.example",
        "owen@mapleleaf.example",
        "x@y.example",
        "555-0123",
        "+15145550123",
        "1984-03-07",
        "Correct-horse-battery-9",
        "Xk3-9aQ2-Lm",
        "4242",
        "abcdef123456",
        "sk_live_abc",
        "Zm9vYmFyYmF6cXV4cXV1eA",
    ):
        assert personal not in text, personal
    request = event["request"]
    assert request["data"]["email"] == REDACTED
    assert request["data"]["date_of_birth"] == REDACTED
    assert request["url"] == f"https://portal.example/business/removal/{REDACTED}/"
    # What a developer needs to read the error is still there.
    assert event["event_id"] == "0123456789abcdef0123456789abcdef"
    assert event["timestamp"] == "2026-11-28T10:00:00.123456Z"
    assert event["exception"]["values"][0]["type"] == "CardError"
    assert event["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"]["amount"] == (
        "'1234.56'"
    )
    assert request["headers"]["User-Agent"] == "Firefox"
    assert event["user"] == {"id": 42}


def test_sentry_starts_only_with_a_dsn_and_without_personal_data():
    script = (
        "import django; django.setup(); import sentry_sdk;"
        "client = sentry_sdk.get_client();"
        "print(client.is_active(), client.is_active() and ("
        " client.options['send_default_pii'], client.options['before_send'].__name__,"
        " sorted(i for i in client.integrations if i in ('django', 'celery'))))"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": "sqlite://:memory:",
    }

    def run(**extra: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", script],
            cwd=BASE_DIR,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout.strip()

    assert run() == "False False"
    assert run(SENTRY_DSN="https://public@sentry.example/1") == (
        "True (False, 'scrub_event', ['celery', 'django'])"
    )
