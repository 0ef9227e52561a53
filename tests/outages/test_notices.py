"""E-mail notices: two days ahead, once per window and person, and again with what changed."""

import datetime
from unittest import mock

import pytest
from allauth.account.models import EmailAddress
from django.test import override_settings
from django.utils import timezone

from outages import notifications, services, tasks
from outages.formatting import EASTERN, format_span
from outages.models import MaintenanceNotice
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


def run() -> int:
    return tasks.send_maintenance_notices.delay().get()


@override_settings(PORTAL_BASE_URL="https://portal.example")
def test_one_notice_per_window_and_person_in_their_language(window, mailoutbox):
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
    assert MaintenanceNotice.objects.filter(status=MaintenanceNotice.Status.SENT).count() == 2


def test_a_second_run_sends_nothing(window, user, mailoutbox):
    assert run() == 1
    assert run() == 0
    assert len(mailoutbox) == 1


def test_a_window_further_than_two_days_away_waits(user, mailoutbox):
    InterruptionFactory.create(
        window=MaintenanceWindowFactory.create(starts_at=timezone.now() + 3 * DAY)
    )

    assert run() == 0


def test_unverified_inactive_and_cancelled_get_nothing(window, mailoutbox):
    unverified = UserFactory()
    EmailAddress.objects.filter(user=unverified).update(verified=False)
    UserFactory(is_active=False)
    cancelled = MaintenanceWindowFactory.create(starts_at=timezone.now() + HOUR)
    cancelled.cancelled_at = timezone.now()
    cancelled.save()

    assert run() == 0


def test_a_retried_task_sends_nothing_twice(window, user, mailoutbox):
    tasks.send_maintenance_notices.delay()
    tasks.send_maintenance_notices.delay()  # the broker redelivered the message

    assert len(mailoutbox) == 1


def test_a_failed_send_is_kept_and_tried_again(window, user, mailoutbox):
    with mock.patch(
        "django.core.mail.EmailMultiAlternatives.send", side_effect=OSError("SMTP down")
    ):
        assert run() == 0
    notice = MaintenanceNotice.objects.get()
    assert (notice.status, notice.error) == (MaintenanceNotice.Status.FAILED, "SMTP down")

    assert run() == 1
    notice.refresh_from_db()
    assert notice.status == MaintenanceNotice.Status.SENT
    assert len(mailoutbox) == 1


def test_a_reschedule_sends_a_change_notice_with_old_and_new(window, mailoutbox):
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


def test_a_change_made_before_anyone_was_told_needs_no_change_notice(window, user, mailoutbox):
    services.reschedule_window(
        window=window, starts_at=window.starts_at, ends_at=window.ends_at + HOUR, actor=None
    )

    assert run() == 1
    assert mailoutbox[0].subject.startswith("Planned maintenance:")


def test_a_cancellation_is_told_only_to_those_who_were_told(window, mailoutbox):
    told = UserFactory(language="fr")
    run()
    UserFactory()  # arrives after the notice: hears nothing of a cancelled window
    services.cancel_window(window=window, actor=None)

    assert run() == 1

    message = mailoutbox[-1]
    assert message.to == [told.email]
    assert "Mise à niveau" in message.subject
    assert "(HE)" in message.body


def test_a_window_moved_further_away_is_still_told_to_those_notified(window, user, mailoutbox):
    run()
    services.reschedule_window(
        window=window,
        starts_at=window.starts_at + 5 * DAY,
        ends_at=window.ends_at + 5 * DAY,
        actor=None,
    )

    assert run() == 1
    assert mailoutbox[-1].subject == "Maintenance rescheduled: Upgrade"


def test_a_window_of_account_capabilities_is_told_only_to_people_acting_for_an_account(mailoutbox):
    linked = AccountLinkFactory().user
    UserFactory()  # signed up, but acts for no business account
    starts = timezone.now() + DAY
    payments = MaintenanceWindowFactory.create(starts_at=starts, ends_at=starts + 4 * HOUR)
    InterruptionFactory.create(window=payments, features=["online_payment"])

    assert run() == 1
    assert [message.to[0] for message in mailoutbox] == [linked.email]


def test_a_notice_that_keeps_failing_stops_after_the_last_attempt(window, user, mailoutbox):
    with mock.patch(
        "django.core.mail.EmailMultiAlternatives.send", side_effect=OSError("Mailbox unknown")
    ) as send:
        for _ in range(notifications.MAX_ATTEMPTS + 2):
            run()

    assert send.call_count == notifications.MAX_ATTEMPTS
    notice = MaintenanceNotice.objects.get()
    assert (notice.status, notice.attempts) == (
        MaintenanceNotice.Status.FAILED,
        notifications.MAX_ATTEMPTS,
    )
    assert run() == 0
    assert mailoutbox == []
