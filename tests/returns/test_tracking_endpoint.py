"""The carrier's signed endpoint: who may post, how recently, how much, and what each event
becomes."""

import datetime
import json
import logging
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from outages import gate
from returns.models import ReturnLabel, TrackingEvent
from returns.views.tracking import MAX_BODY_BYTES
from tests.billing import fakes
from tests.outages.factories import closing
from tests.returns.factories import LabelFactory, tracking_number
from tests.returns.tracking_factories import event_data, post_events, signed_headers

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 10, 9, 12, 0, tzinfo=datetime.UTC)
STAMP = int(NOW.timestamp())
T0 = datetime.datetime(2026, 10, 5, 14, 30, tzinfo=datetime.UTC)
HOUR = datetime.timedelta(hours=1)
URL = "/api/tracking/events/"


@pytest.fixture(autouse=True)
def _frozen() -> object:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def gateway(settings: object) -> type[fakes.FakeGateway]:
    return fakes.install(settings)


@pytest.fixture
def carrier() -> Client:
    """A client without cookies that enforces CSRF checks, as a machine posting would be."""
    return Client(enforce_csrf_checks=True)


def _error_code(response) -> str:
    return response.json()["error"]["code"]


def test_the_url_is_the_one_the_carrier_is_given():
    assert reverse("returns:tracking_events") == URL


# --- signature -------------------------------------------------------------------------------


def test_a_signed_batch_is_stored_and_applied_at_once(carrier, gateway):
    label = LabelFactory()
    response = post_events(
        carrier, [event_data(label, "ACCEPTED", T0), event_data(label, "IN_TRANSIT", T0 + HOUR)]
    )
    assert response.status_code == 200
    assert response.json() == {
        "results": [{"index": 0, "status": "ok"}, {"index": 1, "status": "ok"}]
    }
    label.refresh_from_db()
    assert (label.state, label.accepted_at) == ("IN_TRANSIT", T0)
    assert len(gateway.charges) == 1
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies


@pytest.mark.parametrize(
    ("signing", "code"),
    [
        ({"secret": "not-the-secret"}, "bad_signature"),
        ({"secret": ""}, "bad_signature"),
    ],
)
def test_a_request_signed_with_another_secret_is_refused_and_changes_nothing(
    carrier, signing, code
):
    label = LabelFactory()
    response = post_events(carrier, [event_data(label, "ACCEPTED", T0)], **signing)
    assert response.status_code == 401 and _error_code(response) == code
    assert not TrackingEvent.objects.exists()


def test_a_signature_over_another_body_is_refused(carrier):
    label = LabelFactory()
    signed = json.dumps({"events": [event_data(label, "ACCEPTED", T0)]}).encode()
    sent = json.dumps({"events": [event_data(label, "DELIVERED", T0)]}).encode()
    response = carrier.post(
        URL, data=sent, content_type="application/json", headers=signed_headers(signed)
    )
    assert response.status_code == 401 and _error_code(response) == "bad_signature"
    assert not TrackingEvent.objects.exists()


def test_an_uppercase_hex_signature_is_accepted(carrier):
    label = LabelFactory()
    body = json.dumps({"events": [event_data(label, "IN_TRANSIT", T0)]}).encode()
    headers = signed_headers(body)
    headers["X-Tracking-Signature"] = headers["X-Tracking-Signature"].upper()
    response = carrier.post(URL, data=body, content_type="application/json", headers=headers)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("drop", "code"),
    [
        ("X-Tracking-Signature", "missing_signature"),
        ("X-Tracking-Timestamp", "missing_signature"),
    ],
)
def test_a_request_without_its_signature_headers_is_refused(carrier, drop, code):
    label = LabelFactory()
    body = json.dumps({"events": [event_data(label, "ACCEPTED", T0)]}).encode()
    headers = signed_headers(body)
    del headers[drop]
    response = carrier.post(URL, data=body, content_type="application/json", headers=headers)
    assert response.status_code == 401 and _error_code(response) == code
    assert not TrackingEvent.objects.exists()


@pytest.mark.parametrize("timestamp", ["1790000000.5", "-1790000000", "soon", "١٧٩٠٠٠٠٠٠٠"])
def test_a_timestamp_that_is_not_unix_seconds_is_refused(carrier, timestamp):
    body = b'{"events": []}'
    headers = signed_headers(body)
    headers["X-Tracking-Timestamp"] = timestamp
    response = carrier.post(URL, data=body, content_type="application/json", headers=headers)
    assert response.status_code == 401 and _error_code(response) == "bad_timestamp"


def test_a_signature_with_characters_outside_ascii_is_refused_not_an_error(carrier):
    body = b'{"events": []}'
    headers = signed_headers(body)
    headers["X-Tracking-Signature"] = "é" * 64
    response = carrier.post(URL, data=body, content_type="application/json", headers=headers)
    assert response.status_code == 401 and _error_code(response) == "bad_signature"


# --- timestamp window and replay ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "status"),
    [(-300, 200), (300, 200), (-301, 401), (301, 401), (0, 200)],
)
def test_a_timestamp_is_accepted_up_to_the_allowed_skew_and_refused_a_second_past_it(
    carrier, offset, status
):
    label = LabelFactory()
    response = post_events(carrier, [event_data(label, "ACCEPTED", T0)], timestamp=STAMP + offset)
    assert response.status_code == status
    if status == 401:
        assert _error_code(response) == "stale_timestamp"
        assert not TrackingEvent.objects.exists()


def test_the_allowed_skew_comes_from_the_settings(carrier, settings):
    settings.RETURNS_TRACKING_MAX_SKEW = 60
    label = LabelFactory()
    event = [event_data(label, "ACCEPTED", T0)]
    assert post_events(carrier, event, timestamp=STAMP - 60).status_code == 200
    assert post_events(carrier, event, timestamp=STAMP - 61).status_code == 401


def test_a_captured_request_replayed_later_is_refused_and_within_the_window_changes_nothing(
    carrier, gateway, _frozen
):
    label = LabelFactory()
    body = json.dumps({"events": [event_data(label, "ACCEPTED", T0)]}).encode()
    headers = signed_headers(body, timestamp=STAMP)

    def replay():
        return carrier.post(URL, data=body, content_type="application/json", headers=headers)

    assert replay().json()["results"] == [{"index": 0, "status": "ok"}]
    # Replayed at once: the event is already there, nothing is charged again.
    assert replay().json()["results"] == [{"index": 0, "status": "duplicate"}]
    _frozen.shift(datetime.timedelta(seconds=301))
    late = replay()
    assert late.status_code == 401 and _error_code(late) == "stale_timestamp"
    assert TrackingEvent.objects.count() == 1 and len(gateway.charges) == 1


# --- the body ----------------------------------------------------------------------------------


def test_a_batch_with_good_and_bad_events_stores_the_good_ones_and_reports_each_bad_one(
    carrier, gateway, caplog
):
    label = LabelFactory()
    unknown = tracking_number(99_999_999)
    events: list[Any] = [
        event_data(label, "ACCEPTED", T0),
        event_data(unknown, "ACCEPTED", T0),
        event_data(label, "LOST", T0),
        event_data(label, "IN_TRANSIT", "2026-10-05 nine o'clock"),
        "not an event",
        event_data(label, "ACCEPTED", T0),
    ]
    with caplog.at_level(logging.WARNING, logger="returns.views.tracking"):
        response = post_events(carrier, events)
    assert response.status_code == 207
    results = response.json()["results"]
    assert [(r["index"], r["status"], r.get("code")) for r in results] == [
        (0, "ok", None),
        (1, "error", "unknown_tracking_number"),
        (2, "error", "invalid_kind"),
        (3, "error", "invalid_occurred_at"),
        (4, "error", "malformed_event"),
        (5, "duplicate", None),
    ]
    assert unknown in results[1]["message"]
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 4
    assert unknown in refused[0].getMessage()
    assert TrackingEvent.objects.count() == 1
    label.refresh_from_db()
    assert label.state == "ACCEPTED"


def test_a_batch_whose_every_event_is_refused_answers_422(carrier):
    response = post_events(carrier, [event_data(tracking_number(99_999_999), "ACCEPTED", T0)])
    assert response.status_code == 422
    assert response.json()["results"][0]["code"] == "unknown_tracking_number"


def test_an_empty_batch_is_answered_with_no_results(carrier):
    response = post_events(carrier, [])
    assert response.status_code == 200 and response.json() == {"results": []}


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe{}",
        b"[]",
        b'{"event": []}',
        b'{"events": {"tracking_number": "RR000000015CA"}}',
        b"",
    ],
)
def test_a_malformed_body_is_answered_400_with_a_json_error(carrier, body, caplog):
    with caplog.at_level(logging.WARNING, logger="returns.views.tracking"):
        response = post_events(carrier, body=body)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert _error_code(response) == "malformed_body" and response.json()["error"]["message"]
    ours = [r.getMessage() for r in caplog.records if r.name == "returns.views.tracking"]
    assert ours == ["tracking events refused: malformed_body"]


def test_a_body_larger_than_the_cap_is_refused_before_reading_it(carrier):
    body = json.dumps({"events": [], "padding": "x" * MAX_BODY_BYTES}).encode()
    response = post_events(carrier, body=body)
    assert response.status_code == 413 and _error_code(response) == "body_too_large"


def test_a_body_of_exactly_the_cap_is_read(carrier):
    prefix, suffix = b'{"events": [], "padding": "', b'"}'
    body = prefix + b"x" * (MAX_BODY_BYTES - len(prefix) - len(suffix)) + suffix
    assert len(body) == MAX_BODY_BYTES
    assert post_events(carrier, body=body).status_code == 200


def test_a_batch_larger_than_the_setting_is_refused_whole(carrier, settings):
    settings.RETURNS_TRACKING_MAX_BATCH = 3
    label = LabelFactory()
    events = [event_data(label, "IN_TRANSIT", T0 + n * HOUR) for n in range(4)]
    response = post_events(carrier, events)
    assert response.status_code == 413 and _error_code(response) == "batch_too_large"
    assert not TrackingEvent.objects.exists()
    assert post_events(carrier, events[:3]).status_code == 200


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_only_post_is_allowed(carrier, method):
    assert getattr(carrier, method)(URL).status_code == 405


# --- maintenance -------------------------------------------------------------------------------


def test_during_a_tracking_ingestion_window_events_are_accepted_stored_and_applied_after(
    carrier, gateway, _frozen
):
    from returns import tasks

    label = LabelFactory()
    window = closing("tracking_ingestion", starts_at=NOW - HOUR, ends_at=NOW + HOUR)
    response = post_events(carrier, [event_data(label, "ACCEPTED", T0)])
    assert response.status_code == 200
    assert response.json()["results"] == [{"index": 0, "status": "ok"}]
    label.refresh_from_db()
    assert label.state == ReturnLabel.State.ISSUED and gateway.charges == []
    assert TrackingEvent.objects.get().applied_at is None

    _frozen.move_to(window.ends_at + datetime.timedelta(minutes=1))
    gate.forget_process_copy()
    tasks.apply_pending_events.delay()  # the beat job, every minute
    label.refresh_from_db()
    assert (label.state, label.accepted_at) == ("ACCEPTED", T0)
    assert len(gateway.charges) == 1


def test_a_sign_in_interruption_does_not_close_the_endpoint(carrier, gateway):
    label = LabelFactory()
    closing("sign_in", "tracking_ingestion")
    response = post_events(carrier, [event_data(label, "ACCEPTED", T0)])
    assert response.status_code == 200
    assert TrackingEvent.objects.count() == 1
