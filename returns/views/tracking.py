"""The carrier's endpoint for tracking events: POST /api/tracking/events/.

A machine posts here, not a person: there is no session and no CSRF token. Each request proves
who sent it with two headers:

- `X-Tracking-Timestamp`: the Unix time of sending, in seconds;
- `X-Tracking-Signature`: hex HMAC-SHA256, keyed with settings.RETURNS_TRACKING_SECRET, of
  f"{timestamp}." followed by the raw body.

A timestamp more than settings.RETURNS_TRACKING_MAX_SKEW seconds away from now is refused, so a
captured request cannot be replayed later; replayed within that time it changes nothing (the same
event is stored once). No rate limit: only the holder of the secret gets past the signature, and
the body (1 MB) and batch (settings.RETURNS_TRACKING_MAX_BATCH events) are capped.

The body is {"events": [{"tracking_number", "kind", "occurred_at", "place"}, ...]}. The answer
is 200 when every event was stored (or was already), 207 when some were refused and 422 when all
were, with one result per event: {"results": [{"index", "status": "ok|duplicate|error", "code",
"message"}]} (code and message for errors only). A refused request gets 400, 401 or 413 with
{"error": {"code", "message"}}.

The URL is always open (portal.open_urls): during a tracking-ingestion maintenance window events
are still accepted and stored, then applied when the window ends (returns.services.tracking).
"""

import hashlib
import hmac
import json
import logging
import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from returns.services.tracking import record_tracking_events
from returns.tasks import apply_pending_events

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000
TIMESTAMP_HEADER = "X-Tracking-Timestamp"
SIGNATURE_HEADER = "X-Tracking-Signature"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 the sender puts in X-Tracking-Signature."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _refused(status: int, code: str, message: str) -> JsonResponse:
    """A whole request refused: the sender reads why, and so does the log (one line each)."""
    logger.warning("tracking events refused: %s", code)
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


@csrf_exempt
@require_POST
def receive_events(request: HttpRequest) -> JsonResponse:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        return _too_large()
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        return _too_large()
    refusal = _unauthenticated(request, body)
    if refusal is not None:
        return _refused(401, *refusal)
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return _refused(400, "malformed_body", "The body is not JSON.")
    events = document.get("events") if isinstance(document, dict) else None
    if not isinstance(events, list):
        return _refused(400, "malformed_body", 'The body must be a JSON object {"events": [...]}.')
    if len(events) > settings.RETURNS_TRACKING_MAX_BATCH:
        return _refused(
            413,
            "batch_too_large",
            f"At most {settings.RETURNS_TRACKING_MAX_BATCH} events per request.",
        )
    results = record_tracking_events(events)
    answers: list[dict[str, Any]] = []
    for index, (event, result) in enumerate(zip(events, results, strict=True)):
        answer: dict[str, Any] = {"index": index, "status": result.status}
        if result.is_error:
            answer |= {"code": result.code, "message": result.message}
            number = event.get("tracking_number") if isinstance(event, dict) else None
            logger.warning(
                "tracking event %s refused (%s): %s", index, result.code, str(number)[:20]
            )
        answers.append(answer)
    refused = sum(result.is_error for result in results)
    if refused < len(results):
        # At once in this process without a broker; with one, the worker applies in a moment.
        # Closed for maintenance, it applies nothing: the beat job does once the window ends.
        apply_pending_events.delay()
    status = 422 if results and refused == len(results) else 207 if refused else 200
    return JsonResponse({"results": answers}, status=status)


def _too_large() -> JsonResponse:
    return _refused(413, "body_too_large", f"The body is larger than {MAX_BODY_BYTES} bytes.")


def _unauthenticated(request: HttpRequest, body: bytes) -> tuple[str, str] | None:
    """Why the request is refused (code, message), unless signed with the secret, recently."""
    secret = settings.RETURNS_TRACKING_SECRET
    timestamp = request.headers.get(TIMESTAMP_HEADER, "").strip()
    given = request.headers.get(SIGNATURE_HEADER, "").strip().lower()
    if not timestamp or not given:
        return (
            "missing_signature",
            f"Sign the request with the {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers.",
        )
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return ("bad_timestamp", f"{TIMESTAMP_HEADER} is Unix time in seconds.")
    if abs(int(time.time()) - int(timestamp)) > settings.RETURNS_TRACKING_MAX_SKEW:
        return (
            "stale_timestamp",
            f"{TIMESTAMP_HEADER} is more than {settings.RETURNS_TRACKING_MAX_SKEW} seconds "
            "away from now: check the sender's clock, and sign each request when sending it.",
        )
    expected = signature(secret, timestamp, body)
    if not secret or not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
        return ("bad_signature", "The signature does not match.")
    return None
