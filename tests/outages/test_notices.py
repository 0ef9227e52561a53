"""E-mail notices: two days ahead, once per window and person, and again with what changed.

The beat job queues them in the outbox, which sends each once after commit, retries it and
sweeps what the broker lost.
"""

import datetime
from unittest import mock

import pytest
from allauth.account.models import EmailAddress
from django.test import override_settings
from django.utils import timezone

from outages import services, tasks
from outages.models import MaintenanceNotice
from portal import tasks as portal_tasks
from portal.formatting import EASTERN, format_span
from portal.models import Delivery
from portal.outbox import kind_for
from tests.accounts.link_factories import AccountLinkFactory
from tests.factories import UserFactory
from tests.outages.factories import HOUR, InterruptionFactory, MaintenanceWindowFactory

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


@pytest.fixture
def window():
    """Starts in a day, at a round Eastern hour so the texts are easy to read back."""
    starts = timezone.now().astimezone(EASTERN).replace(minute=0, second=0, microsecond=0) + DAY
    window = MaintenanceWindowFactory.create(
        title_en="Upgrade", title_fr="Mise à niveau", starts_at=starts, ends_at=starts + 4 * HOUR
    )
    InterruptionFactory.create(window=window)
    return window


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """The beat job as a worker runs it: its queued e-mails are handed over once it commits."""

    def job(*, broker_up: bool = True) -> int:
        with django_capture_on_commit_callbacks(execute=broker_up):
            return tasks.send_maintenance_notices.delay().get()

    return job


def sweep() -> dict[str, int]:
    return portal_tasks.sweep_outbox.apply().get()


def later(time_machine, delta: datetime.timedelta) -> None:
    time_machine.move_to(timezone.now() + delta, tick=False)


def deliveries():
    return Delivery.objects.filter(kind__startswith="outages.")


@override_settings(PORTAL_BASE_URL="https://portal.example")
def test_one_notice_per_window_and_person_in_their_language(window, mailoutbox, run):
    english = UserFactory(language="en")
    french = UserFactory(language="fr")

    assert run() == 2

    by_address = {message.to[0]: message for message in mailoutbox}
    en, fr = by_address[english.email], by_address[french.email]
    assert en.subject.startswith("Planned maintenance: Upgrade — ")
    assert "(ET)" in en.subject and "(ET)" in en.body
    assert "Registration: New profiles cannot be created." in en.body
    assert "https://portal.example/status/" in en.body
    html_body, mime = en.alternatives[0]
    assert mime == "text/html" and "<table" in html_body and "(ET)" in html_body
    assert "Mise à niveau" in fr.subject and "(HE)" in fr.subject
    assert "Inscription" in fr.body and "(HE)" in fr.body
    assert {(d.kind, d.status, d.attempts) for d in deliveries()} == {
        ("outages.notice", Delivery.Status.SENT, 1)
    }
    assert sorted(deliveries().values_list("dedupe_key", flat=True)) == sorted(
        f"outages.notice:{window.pk}:{person.pk}:1" for person in (english, french)
    )


def test_a_second_run_sends_nothing(window, user, mailoutbox, run):
    assert run() == 1
    assert run() == 0
    assert len(mailoutbox) == 1


def test_a_window_further_than_two_days_away_waits(user, mailoutbox, run):
    InterruptionFactory.create(
        window=MaintenanceWindowFactory.create(starts_at=timezone.now() + 3 * DAY)
    )

    assert run() == 0


def test_unverified_inactive_and_cancelled_get_nothing(window, mailoutbox, run):
    unverified = UserFactory()
    EmailAddress.objects.filter(user=unverified).update(verified=False)
    UserFactory(is_active=False)
    cancelled = MaintenanceWindowFactory.create(starts_at=timezone.now() + HOUR)
    cancelled.cancelled_at = timezone.now()
    cancelled.save()

    assert run() == 0


def test_a_retried_task_sends_nothing_twice(window, user, mailoutbox, run):
    run()
    run()  # the broker redelivered the message
    [delivery] = deliveries()
    assert portal_tasks.send_delivery.apply(args=(delivery.pk,)).get() is False  # and this one

    assert len(mailoutbox) == 1


def test_a_failed_send_is_kept_and_tried_again(window, user, mailoutbox, run, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    with mock.patch(
        "django.core.mail.EmailMultiAlternatives.send", side_effect=OSError("SMTP down")
    ):
        assert run() == 1
    delivery = MaintenanceNotice.objects.get().delivery
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        Delivery.Status.PENDING,
        1,
        "OSError: SMTP down",
    )
    assert run() == 0  # the job queues nothing twice; the outbox retries it
    assert sweep()["enqueued"] == 0  # not before its backoff

    time_machine.move_to(delivery.next_attempt_at, tick=False)
    assert sweep()["enqueued"] == 1

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SENT, 2)
    assert [m.to for m in mailoutbox] == [[user.email]]


def test_a_reschedule_sends_a_change_notice_with_old_and_new(window, mailoutbox, run):
    person = UserFactory(language="en")
    run()
    old_end = window.ends_at
    services.reschedule_window(
        window=window, starts_at=window.starts_at, ends_at=old_end + 2 * HOUR, actor=None
    )

    assert run() == 1
    assert run() == 0

    change = mailoutbox[-1]
    assert change.to == [person.email]
    assert change.subject == "Maintenance extended: Upgrade"
    old_span = format_span(window.starts_at, old_end)
    new_span = format_span(window.starts_at, old_end + 2 * HOUR)
    assert f"Before: {old_span}" in change.body
    assert f"Now: {new_span}" in change.body
    kinds = sorted(MaintenanceNotice.objects.values_list("kind", "revision"))
    assert kinds == [("change", 2), ("notice", 1)]


def test_a_change_made_before_anyone_was_told_needs_no_change_notice(window, user, mailoutbox, run):
    services.reschedule_window(
        window=window, starts_at=window.starts_at, ends_at=window.ends_at + HOUR, actor=None
    )

    assert run() == 1
    assert mailoutbox[0].subject.startswith("Planned maintenance:")


def test_a_cancellation_is_told_only_to_those_who_were_told(window, mailoutbox, run):
    told = UserFactory(language="fr")
    run()
    UserFactory()  # arrives after the notice: hears nothing of a cancelled window
    services.cancel_window(window=window, actor=None)

    assert run() == 1

    message = mailoutbox[-1]
    assert message.to == [told.email]
    assert "Mise à niveau" in message.subject
    assert "(HE)" in message.body


def test_a_window_moved_further_away_is_still_told_to_those_notified(window, user, mailoutbox, run):
    run()
    services.reschedule_window(
        window=window,
        starts_at=window.starts_at + 5 * DAY,
        ends_at=window.ends_at + 5 * DAY,
        actor=None,
    )

    assert run() == 1
    assert mailoutbox[-1].subject == "Maintenance rescheduled: Upgrade"


def test_a_window_of_account_capabilities_is_told_only_to_people_acting_for_an_account(
    mailoutbox, run
):
    linked = AccountLinkFactory().user
    UserFactory()  # signed up, but acts for no business account
    starts = timezone.now() + DAY
    payments = MaintenanceWindowFactory.create(starts_at=starts, ends_at=starts + 4 * HOUR)
    InterruptionFactory.create(window=payments, features=["online_payment"])

    assert run() == 1
    assert [message.to[0] for message in mailoutbox] == [linked.email]


def test_a_notice_that_keeps_failing_stops_after_the_last_attempt(
    window, user, mailoutbox, run, settings, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    attempts = settings.PORTAL_OUTBOX_MAX_ATTEMPTS
    with mock.patch(
        "django.core.mail.EmailMultiAlternatives.send", side_effect=OSError("Mailbox unknown")
    ) as send:
        run()
        for _ in range(attempts + 2):
            later(time_machine, datetime.timedelta(hours=1))
            run()
            sweep()

    assert send.call_count == attempts
    delivery = MaintenanceNotice.objects.get().delivery
    assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED, attempts)
    assert run() == 0
    assert mailoutbox == []


def test_the_sweeper_sends_a_notice_the_broker_lost_once(
    window, user, mailoutbox, run, settings, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    assert run(broker_up=False) == 1
    assert mailoutbox == []

    later(time_machine, datetime.timedelta(seconds=settings.PORTAL_OUTBOX_REQUEUE_AFTER + 1))
    assert sweep()["enqueued"] == 1
    later(time_machine, datetime.timedelta(hours=1))
    assert sweep()["enqueued"] == 0

    assert [m.to for m in mailoutbox] == [[user.email]]
    assert run() == 0


def test_a_notice_overtaken_by_a_change_is_not_sent_and_the_new_schedule_is_told(
    window, user, mailoutbox, run, settings, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    run(broker_up=False)  # revision 1 queued, not sent yet
    services.reschedule_window(
        window=window, starts_at=window.starts_at, ends_at=window.ends_at + HOUR, actor=None
    )
    later(time_machine, datetime.timedelta(seconds=settings.PORTAL_OUTBOX_REQUEUE_AFTER + 1))
    sweep()

    first = MaintenanceNotice.objects.get(revision=1).delivery
    assert first.status == Delivery.Status.FAILED and "Superseded" in first.last_error
    assert mailoutbox == []

    assert run() == 1  # never told: a first notice of the current schedule, not a change notice
    [message] = mailoutbox
    assert message.subject.startswith("Planned maintenance:")
    assert format_span(window.starts_at, window.ends_at) in message.body  # the moved end
    assert sorted(MaintenanceNotice.objects.values_list("kind", "revision")) == [
        ("notice", 1),
        ("notice", 2),
    ]


def test_the_notices_are_outbox_kinds_that_no_maintenance_holds_back():
    for name in ("outages.notice", "outages.change"):
        kind = kind_for(name)
        assert (kind.channel, kind.feature) == ("email", None)
        assert kind.template_prefix.startswith("outages/email/")
