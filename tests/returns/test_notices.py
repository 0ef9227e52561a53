"""The returns e-mails to the notification recipients: one per recipient and event however often
the event arrives or the task runs, the daily summary of the previous Eastern day, and the
one-click unsubscribe (the link, the List-Unsubscribe headers, the public page)."""

import datetime
from typing import Any

import pytest
import time_machine
from django.core import mail, signing
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from portal.models import Delivery
from portal.outbox import sending
from returns import notifications, tasks
from returns.messages import Kind
from returns.models import NotificationRecipient, ReturnLabel, TrackingEvent
from returns.services import tracking
from tests.outages.factories import closing
from tests.returns.factories import (
    EventFactory,
    LabelFactory,
    PolicyFactory,
    RecipientFactory,
)

pytestmark = pytest.mark.django_db

BASE = "https://portal.example"
UTC = datetime.UTC
DAILY = NotificationRecipient.Mode.DAILY
EventKind = TrackingEvent.Kind


@pytest.fixture(autouse=True)
def _base_url(settings: Any) -> None:
    settings.PORTAL_BASE_URL = BASE
    settings.RETURNS_DIGEST_HOUR = 7


def send_all(kind: str) -> list[EmailMultiAlternatives]:
    """Send every row of `kind`; the e-mails that went, by recipient address."""
    for delivery in Delivery.objects.filter(kind=kind).order_by("pk"):
        sending.send(delivery.pk)
    return [message for message in mail.outbox if isinstance(message, EmailMultiAlternatives)]


def html(message: EmailMultiAlternatives) -> str:
    content, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    return str(content)


def event_rows() -> list[tuple[str, str, str]]:
    return list(
        Delivery.objects.filter(kind=Kind.EVENT)
        .order_by("address")
        .values_list("address", "language", "dedupe_key")
    )


# --- per event -----------------------------------------------------------------------------------


def test_an_event_is_queued_once_to_each_recipient_who_wants_it_one_by_one():
    policy = PolicyFactory.create()
    account = policy.account
    each = RecipientFactory.create(account=account, email="a@shop.example")
    RecipientFactory.create(account=account, email="b@shop.example", on_delivered=False)
    RecipientFactory.create(account=account, email="c@shop.example", mode=DAILY)
    RecipientFactory.create(
        account=account,
        email="d@shop.example",
        unsubscribed_at=datetime.datetime(2026, 1, 1, tzinfo=UTC),
    )
    RecipientFactory.create(email="other-business@shop.example")
    event = EventFactory.create(label=LabelFactory.create(policy=policy), kind=EventKind.DELIVERED)

    assert notifications.queue_event_notices(event) == 1

    assert event_rows() == [("a@shop.example", "en", f"returns.event:{event.pk}:{each.pk}")]
    delivery = Delivery.objects.get(kind=Kind.EVENT)
    assert delivery.account_id == account.pk
    assert delivery.facts["tracking_number"] == event.label.tracking_number
    assert delivery.facts["policy_reference"] == policy.reference


def test_nobody_is_told_that_a_parcel_is_in_transit():
    label = LabelFactory.create()
    RecipientFactory.create(account=label.account)

    event = EventFactory.create(label=label, kind=EventKind.IN_TRANSIT)

    assert notifications.queue_event_notices(event) == 0
    assert not Delivery.objects.exists()


def test_the_same_event_twice_or_a_retried_task_sends_one_email_per_recipient():
    label = LabelFactory.create()
    RecipientFactory.create(account=label.account, email="a@shop.example")
    RecipientFactory.create(account=label.account, email="b@shop.example", language="fr")
    delivered = {
        "tracking_number": label.tracking_number,
        "kind": "DELIVERED",
        "occurred_at": "2026-03-05T14:30:00-05:00",
        "place": "Ottawa",
    }

    # The carrier posts it twice, the beat job and a request both apply, the task is retried.
    assert [r.status for r in tracking.record_tracking_events([delivered, delivered])] == [
        "ok",
        "duplicate",
    ]
    tracking.record_tracking_events([delivered])
    tracking.apply_pending_events()
    tracking.apply_pending_events()
    event = TrackingEvent.objects.get()
    notifications.queue_event_notices(event)

    assert [address for address, _language, _key in event_rows()] == [
        "a@shop.example",
        "b@shop.example",
    ]
    sent = send_all(Kind.EVENT)
    sent_again = send_all(Kind.EVENT)
    assert sorted(message.to[0] for message in sent) == ["a@shop.example", "b@shop.example"]
    assert len(sent_again) == 2  # nothing more went


def test_during_a_tracking_ingestion_window_event_emails_wait():
    """What tracking says is held with tracking: the row stays queued, sent once it reopens."""
    label = LabelFactory.create()
    RecipientFactory.create(account=label.account, email="a@shop.example")
    notifications.queue_event_notices(EventFactory.create(label=label, kind=EventKind.DELIVERED))
    closing("tracking_ingestion")

    assert send_all(Kind.EVENT) == []
    assert Delivery.objects.get(kind=Kind.EVENT).status == Delivery.Status.PENDING


@time_machine.travel(datetime.datetime(2026, 3, 6, 12, tzinfo=UTC), tick=False)
def test_the_event_email_in_english_and_french_with_the_unsubscribe_link_and_headers():
    policy = PolicyFactory.create(name="Winter boots", account__legal_name="Maple Outfitters")
    label = LabelFactory.create(policy=policy, order_reference="ORDER-4242")
    english = RecipientFactory.create(account=policy.account, email="owen@shop.example")
    french = RecipientFactory.create(
        account=policy.account, email="claire@shop.example", language="fr"
    )
    event = EventFactory.create(
        label=label,
        kind=EventKind.DELIVERED,
        occurred_at=datetime.datetime(2026, 3, 5, 19, 30, tzinfo=UTC),  # 2:30 p.m. in Ottawa
        place="Ottawa ON",
    )
    notifications.queue_event_notices(event)

    mails = {message.to[0]: message for message in send_all(Kind.EVENT)}

    assert set(mails) == {"owen@shop.example", "claire@shop.example"}
    for recipient, moment in (
        (english, "March 5, 2:30 p.m. (ET)"),
        (french, "5 mars, 14 h 30 (HE)"),
    ):
        message = mails[recipient.email]
        url = f"{BASE}/returns/unsubscribe/{notifications.unsubscribe_token(recipient)}/"
        assert label.tracking_number in message.subject
        for part in (message.body, html(message)):
            assert moment in part
            assert "ORDER-4242" in part and "Ottawa ON" in part
            assert "Winter boots" in part and policy.reference in part
            assert url in part
        assert f'href="{url}"' in html(message)
        headers = message.message()
        assert headers["List-Unsubscribe"] == f"<{url}>"
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mails["owen@shop.example"].subject == f"Return {label.tracking_number} delivered"
    assert "Event: Delivered" in mails["owen@shop.example"].body
    assert "Maple Outfitters" in mails["owen@shop.example"].body
    # Rendered in French: the typography of the French catalogue (a space before the colon).
    assert "\u00a0:" in mails["claire@shop.example"].body
    assert "\u00a0:" not in mails["owen@shop.example"].body


def test_an_email_queued_before_the_recipient_unsubscribed_is_not_sent():
    label = LabelFactory.create()
    recipient = RecipientFactory.create(account=label.account)
    notifications.queue_event_notices(EventFactory.create(label=label, kind=EventKind.EXCEPTION))

    Client().post(reverse("returns:unsubscribe", args=[notifications.unsubscribe_token(recipient)]))

    assert send_all(Kind.EVENT) == []
    delivery = Delivery.objects.get(kind=Kind.EVENT)
    assert delivery.status == Delivery.Status.FAILED
    assert "unsubscribed" in delivery.last_error


def test_an_email_queued_before_the_recipient_was_removed_is_not_sent():
    label = LabelFactory.create()
    recipient = RecipientFactory.create(account=label.account)
    notifications.queue_event_notices(EventFactory.create(label=label, kind=EventKind.EXCEPTION))

    recipient.delete()

    assert send_all(Kind.EVENT) == []
    assert Delivery.objects.get(kind=Kind.EVENT).status == Delivery.Status.FAILED


# --- the daily summary ---------------------------------------------------------------------------


def happened(label: ReturnLabel, kind: str, at: datetime.datetime) -> TrackingEvent:
    """An event applied to its label, as the tracking service leaves it."""
    if kind == EventKind.ACCEPTED:
        label.accepted_at = at
    elif kind == EventKind.DELIVERED:
        label.delivered_at = at
    label.save()
    return EventFactory.create(label=label, kind=kind, occurred_at=at, applied_at=at)


def utc(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def march_4() -> dict[str, Any]:
    """Events around Wednesday, March 4, 2026 in Ottawa (UTC-5), and who wants what."""
    policy = PolicyFactory.create(name="Spring returns", account__legal_name="Maple Outfitters")
    account = policy.account
    first, second, third = (LabelFactory.create(policy=policy) for _ in range(3))
    happened(second, EventKind.ACCEPTED, utc(4, 4, 50))  # 11:50 p.m. on March 3: the day before
    happened(first, EventKind.ACCEPTED, utc(4, 5, 10))  # 12:10 a.m. on March 4
    happened(first, EventKind.IN_TRANSIT, utc(4, 12))  # never reported
    happened(third, EventKind.EXCEPTION, utc(4, 15))
    happened(first, EventKind.DELIVERED, utc(5, 4, 50))  # 11:50 p.m. on March 4
    happened(second, EventKind.DELIVERED, utc(5, 5, 10))  # 12:10 a.m. on March 5: the day after
    happened(LabelFactory.create(), EventKind.DELIVERED, utc(4, 15))  # another business
    return {
        "account": account,
        "first": first,
        "third": third,
        "dropped_and_delivered": RecipientFactory.create(
            account=account, email="daily@shop.example", mode=DAILY, on_exception=False
        ),
        "exceptions": RecipientFactory.create(
            account=account,
            email="claire@shop.example",
            mode=DAILY,
            language="fr",
            on_accepted=False,
            on_delivered=False,
        ),
        "one_by_one": RecipientFactory.create(account=account, email="each@shop.example"),
        "elsewhere": RecipientFactory.create(email="quiet@other.example", mode=DAILY),
    }


def summaries() -> dict[str, Delivery]:
    return {row.address: row for row in Delivery.objects.filter(kind=Kind.DAILY_SUMMARY)}


def test_before_the_digest_hour_nothing_is_sent(march_4):
    assert notifications.send_daily_summaries(utc(5, 11, 59)) == 0  # 6:59 a.m. in Ottawa
    assert summaries() == {}


def test_the_summary_covers_the_previous_eastern_day_and_only_the_chosen_kinds(march_4):
    # 7:05 a.m. in Ottawa on March 5 (12:05 UTC).
    assert notifications.send_daily_summaries(utc(5, 12, 5)) == 2

    rows = summaries()
    assert set(rows) == {"daily@shop.example", "claire@shop.example"}  # nothing else to report
    daily, claire = rows["daily@shop.example"], rows["claire@shop.example"]
    assert daily.facts["counts"] == {"ACCEPTED": 1, "DELIVERED": 1}
    assert claire.facts["counts"] == {"EXCEPTION": 1}
    assert daily.facts["day"] == claire.facts["day"] == "2026-03-04"
    assert claire.language == "fr"
    recipient = march_4["dropped_and_delivered"]
    assert daily.dedupe_key == f"returns.daily_summary:{recipient.pk}:2026-03-04"


def test_the_hourly_job_sends_each_summary_once(march_4):
    assert notifications.send_daily_summaries(utc(5, 12, 5)) == 2
    for hour in (13, 14, 23):
        assert notifications.send_daily_summaries(utc(5, hour, 5)) == 0

    assert len(summaries()) == 2
    assert len(send_all(Kind.DAILY_SUMMARY)) == 2
    assert notifications.send_daily_summaries(utc(5, 16, 5)) == 0
    assert len(send_all(Kind.DAILY_SUMMARY)) == 2


def test_a_day_with_nothing_to_report_sends_no_email(march_4):
    # March 6 in Ottawa reports March 5: only a delivery, which claire did not choose.
    assert notifications.send_daily_summaries(utc(6, 12, 5)) == 1
    assert list(summaries()) == ["daily@shop.example"]
    # March 8 reports March 7: nothing happened.
    assert notifications.send_daily_summaries(utc(8, 12, 5)) == 0


def test_unsubscribed_recipients_get_no_summary(march_4):
    NotificationRecipient.objects.filter(pk=march_4["exceptions"].pk).update(
        unsubscribed_at=utc(5, 1)
    )

    assert notifications.send_daily_summaries(utc(5, 12, 5)) == 1
    assert list(summaries()) == ["daily@shop.example"]


@time_machine.travel(datetime.datetime(2026, 3, 5, 12, 5, tzinfo=UTC), tick=False)
def test_the_summary_email_lists_the_events_and_carries_the_unsubscribe_link(march_4):
    assert tasks.send_daily_summaries() == 2  # the beat's task, at 7:05 a.m. in Ottawa

    mails = {message.to[0]: message for message in send_all(Kind.DAILY_SUMMARY)}

    english, french = mails["daily@shop.example"], mails["claire@shop.example"]
    assert english.subject == "Returns of March 4, 2026 — Maple Outfitters"
    for part in (english.body, html(english)):
        assert march_4["first"].tracking_number in part
        assert march_4["third"].tracking_number not in part  # an exception: not chosen
        assert "Spring returns" in part
        assert "March 4, 12:10 a.m." in part and "March 4, 11:50 p.m." in part
    assert "Received at the post office: 1" in english.body
    assert "Delivered: 1" in english.body
    assert march_4["third"].tracking_number in french.body
    assert "4 mars 2026" in french.subject
    for recipient, message in (
        (march_4["dropped_and_delivered"], english),
        (march_4["exceptions"], french),
    ):
        url = notifications.unsubscribe_url(recipient)
        assert url in message.body and f'href="{url}"' in html(message)
        assert message.message()["List-Unsubscribe"] == f"<{url}>"
        assert message.message()["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_day_follows_eastern_time_across_the_clock_change():
    """On Sunday, March 8, 2026 Ottawa moves to UTC-4: that day lasts 23 hours."""
    label = LabelFactory.create()
    RecipientFactory.create(account=label.account, mode=DAILY)
    happened(label, EventKind.EXCEPTION, utc(9, 3, 30))  # 11:30 p.m. EDT on March 8

    assert notifications.send_daily_summaries(utc(9, 10, 59)) == 0  # 6:59 a.m. EDT
    assert notifications.send_daily_summaries(utc(9, 11, 5)) == 1  # 7:05 a.m. EDT
    assert Delivery.objects.get(kind=Kind.DAILY_SUMMARY).facts["day"] == "2026-03-08"


# --- unsubscribe ---------------------------------------------------------------------------------


def unsubscribe_path(recipient: NotificationRecipient) -> str:
    return reverse("returns:unsubscribe", args=[notifications.unsubscribe_token(recipient)])


def test_the_link_asks_to_confirm_and_changes_nothing_on_get():
    recipient = RecipientFactory.create(email="owen@shop.example")
    path = unsubscribe_path(recipient)  # signed once: a token signed a second later differs

    response = Client().get(path)

    assert response.status_code == 200
    content = response.content.decode()
    assert "owen@shop.example" in content and recipient.account.legal_name in content
    assert f'action="{path}"' in content
    recipient.refresh_from_db()
    assert recipient.unsubscribed_at is None


def test_the_button_unsubscribes_once_and_it_is_audited():
    recipient = RecipientFactory.create(email="owen@shop.example")
    client = Client(enforce_csrf_checks=True)

    response = client.post(unsubscribe_path(recipient))
    recipient.refresh_from_db()
    first = recipient.unsubscribed_at
    again = client.post(unsubscribe_path(recipient))

    assert response.status_code == again.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    recipient.refresh_from_db()
    assert first is not None and recipient.unsubscribed_at == first
    audit = AuditEvent.objects.get(event=AuditEvent.Event.RETURN_RECIPIENTS_CHANGED)
    assert (audit.actor, audit.account, audit.details["change"]) == (
        None,
        recipient.account,
        "unsubscribed",
    )


def test_a_mail_client_one_click_post_works_without_a_csrf_token():
    recipient = RecipientFactory.create()
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        unsubscribe_path(recipient),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    recipient.refresh_from_db()
    assert recipient.unsubscribed_at is not None


def test_the_page_speaks_the_recipient_language():
    recipient = RecipientFactory.create(language="fr")

    response = Client().get(unsubscribe_path(recipient), HTTP_ACCEPT_LANGUAGE="en")

    assert '<html lang="fr' in response.content.decode()


@pytest.mark.parametrize(
    "forge",
    [
        lambda pk: signing.dumps({"r": pk}),  # no salt: another purpose's signature
        lambda pk: signing.dumps({"r": pk}, salt="returns.unsubscribe.v1", key="x" * 50),
        lambda pk: notifications.unsubscribe_token(NotificationRecipient(pk=pk))[:-2] + "xx",
        lambda pk: str(pk),
        lambda pk: "not-a-token",
    ],
    ids=["unsalted", "other-key", "tampered", "bare-id", "garbage"],
)
def test_a_forged_token_is_a_404_and_changes_nothing(forge):
    recipient = RecipientFactory.create()
    client = Client(enforce_csrf_checks=True)
    path = reverse("returns:unsubscribe", args=[forge(recipient.pk)])

    assert client.get(path).status_code == 404
    assert (
        client.post(
            path,
            data="List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        ).status_code
        == 404
    )

    recipient.refresh_from_db()
    assert recipient.unsubscribed_at is None
    assert not AuditEvent.objects.exists()


def test_the_token_of_a_removed_recipient_is_a_404():
    recipient = RecipientFactory.create()
    path = unsubscribe_path(recipient)
    recipient.delete()

    assert Client().post(path).status_code == 404


def test_unsubscribing_stays_open_during_maintenance():
    recipient = RecipientFactory.create()
    closing("return_policies", "return_labels", "tracking_ingestion", "returns_reports")

    assert Client().post(unsubscribe_path(recipient)).status_code == 200
    recipient.refresh_from_db()
    assert recipient.unsubscribed_at is not None
