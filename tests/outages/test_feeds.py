"""The iCalendar and Atom feeds read by real parsers, and the JSON document for scripts."""

import datetime

import feedparser
import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from outages import services
from outages.models import Interruption
from tests.outages.factories import HOUR, InterruptionFactory, MaintenanceWindowFactory

pytestmark = pytest.mark.django_db
UTC = datetime.UTC


@pytest.fixture
def windows():
    now = timezone.now().replace(microsecond=0)
    planned = MaintenanceWindowFactory.create(
        title_en="Upgrade", title_fr="Mise à niveau", starts_at=now + HOUR, ends_at=now + 5 * HOUR
    )
    InterruptionFactory.create(window=planned)
    InterruptionFactory.create(
        window=planned,
        application_en="Billing",
        application_fr="Facturation",
        features=["invoices", "online_payment"],
        scope=Interruption.Scope.WRITES,
        starts_at=now + 2 * HOUR,
    )
    cancelled = MaintenanceWindowFactory.create(title_en="Called off", starts_at=now + 24 * HOUR)
    InterruptionFactory.create(window=cancelled)
    services.cancel_window(window=cancelled, actor=None)
    return planned, cancelled


def parse_calendar(response) -> list:
    calendar = Calendar.from_ical(response.content)
    return sorted(calendar.walk("VEVENT"), key=lambda event: str(event["UID"]))


def test_icalendar_feed_has_one_event_per_interruption(client, windows):
    planned, _ = windows

    response = client.get(reverse("outages:ical"))

    assert response["Content-Type"].startswith("text/calendar")
    events = parse_calendar(response)
    assert len(events) == 3
    first = planned.interruptions.order_by("pk").first()
    event = next(e for e in events if str(e["UID"]).startswith(f"interruption-{first.pk}@"))
    assert event.decoded("DTSTART") == first.starts_at
    assert event.decoded("DTSTART").utcoffset() == datetime.timedelta(0)
    assert event.decoded("DTEND") == first.ends_at
    assert str(event["SUMMARY"]) == "Maintenance: Registration"
    assert "New profiles cannot be created." in str(event["DESCRIPTION"])
    assert str(event["STATUS"]) == "CONFIRMED"
    assert b"DTSTART:" in response.content and b"Z\r\n" in response.content


def test_icalendar_uids_are_stable_and_cancelled_events_say_so(client, windows):
    first = [str(e["UID"]) for e in parse_calendar(client.get(reverse("outages:ical")))]
    again = [str(e["UID"]) for e in parse_calendar(client.get(reverse("outages:ical"), {"x": 1}))]
    assert first == again

    events = parse_calendar(client.get(reverse("outages:ical")))
    statuses = sorted(str(event["STATUS"]) for event in events)
    assert statuses == ["CANCELLED", "CONFIRMED", "CONFIRMED"]
    cancelled = next(e for e in events if str(e["STATUS"]) == "CANCELLED")
    assert int(cancelled["SEQUENCE"]) == 1  # revision 2: calendar apps replace the event


def test_icalendar_in_french(client, windows):
    events = parse_calendar(client.get(reverse("outages:ical"), {"lang": "fr"}))

    summaries = {str(event["SUMMARY"]) for event in events}
    assert any("Inscription" in summary for summary in summaries)
    assert any("(HE)" in str(event["DESCRIPTION"]) for event in events)


def test_atom_feed_parses(client, windows):

    response = client.get(reverse("outages:atom"))

    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title == "Service interruptions"
    titles = [entry.title for entry in feed.entries]
    assert any(title.startswith("Upgrade — ") and "(ET)" in title for title in titles)
    assert any(title.startswith("Cancelled: Called off") for title in titles)
    assert all(entry.id.startswith("tag:") for entry in feed.entries)
    assert all(entry.link.startswith("http://testserver/status/") for entry in feed.entries)
    assert any("Billing" in entry.summary for entry in feed.entries)


def test_the_atom_feed_is_sent_and_cached_in_one_piece(client, windows):
    first = client.get(reverse("outages:atom"))
    cached = client.get(reverse("outages:atom"))

    # The WSGI server writes each chunk on its own: one chunk, however many windows.
    assert len(list(first)) == 1
    assert len(list(cached)) == 1
    assert cached.content == first.content


def test_json_shape(client, windows):
    planned, _ = windows

    response = client.get(reverse("outages:json"))

    document = response.json()
    assert set(document) == {"generated_at", "status_page", "interruptions"}
    assert document["generated_at"].endswith("Z")
    assert len(document["interruptions"]) == 3
    billing = next(i for i in document["interruptions"] if i["application"] == "Billing")
    assert billing == {
        "id": billing["id"],
        "application": "Billing",
        "description": "New profiles cannot be created.",
        "starts_at": billing["starts_at"],
        "ends_at": billing["ends_at"],
        "features": ["invoices", "online_payment"],
        "scope": "writes",
        "state": "upcoming",
        "window": {"id": planned.pk, "title": "Upgrade", "state": "upcoming", "revision": 1},
    }
    assert datetime.datetime.fromisoformat(billing["starts_at"]) == planned.starts_at + HOUR
    assert billing["starts_at"].endswith("Z")
    states = sorted(i["state"] for i in document["interruptions"])
    assert states == ["cancelled", "upcoming", "upcoming"]


def test_json_leaves_out_what_has_ended(client):
    now = timezone.now()
    InterruptionFactory.create(
        window=MaintenanceWindowFactory.create(starts_at=now - 3 * HOUR, ends_at=now - HOUR)
    )
    InterruptionFactory.create(
        window=MaintenanceWindowFactory.create(starts_at=now - HOUR, ends_at=now + HOUR)
    )

    document = client.get(reverse("outages:json")).json()

    assert [i["state"] for i in document["interruptions"]] == ["in_progress"]


def test_feeds_are_cached_briefly(client, windows, django_assert_num_queries):
    client.get(reverse("outages:json"))

    with django_assert_num_queries(0):
        assert client.get(reverse("outages:json")).status_code == 200
