"""Tracking events as the carrier sends them (dicts of text), and the signed request that carries
them to the endpoint."""

import datetime
import json
import time
from typing import Any

from django.conf import settings
from django.test import Client
from django.urls import reverse

from returns.models import ReturnLabel
from returns.views.tracking import signature


def event_data(
    label: ReturnLabel | str,
    kind: str = "ACCEPTED",
    at: datetime.datetime | str | None = None,
    place: str = "Ottawa",
) -> dict[str, Any]:
    """One event as the carrier writes it; `at` defaults to a fixed moment in October 2026."""
    moment = at or datetime.datetime(2026, 10, 5, 14, 30, tzinfo=datetime.UTC)
    return {
        "tracking_number": label if isinstance(label, str) else label.tracking_number,
        "kind": kind,
        "occurred_at": moment if isinstance(moment, str) else moment.isoformat(),
        "place": place,
    }


def signed_headers(
    body: bytes, *, timestamp: int | None = None, secret: str | None = None
) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    key = settings.RETURNS_TRACKING_SECRET if secret is None else secret
    return {
        "X-Tracking-Timestamp": stamp,
        "X-Tracking-Signature": signature(key, stamp, body),
    }


def post_events(
    client: Client,
    events: list[Any] | None = None,
    *,
    body: bytes | None = None,
    **signing: Any,
) -> Any:
    """POST `events` (or a raw `body`) to the endpoint, signed as the carrier would."""
    raw = body if body is not None else json.dumps({"events": events or []}).encode()
    return client.post(
        reverse("returns:tracking_events"),
        data=raw,
        content_type="application/json",
        headers=signed_headers(raw, **signing),
    )
