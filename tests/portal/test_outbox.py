"""portal.outbox: queued on commit, sent once (claim → send → mark), retried with backoff by the
sweeper alone, permanent errors failed at once, UNKNOWN after a lost worker, the gate, the
dedupe key, the recipient's language, and staff's one list with "Send again"."""

import datetime
import smtplib
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from anymail.exceptions import AnymailRecipientsRefused
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from outages import gate
from portal import tasks
from portal.models import Delivery
from portal.outbox import kind_for, queue_email, registered_kinds, sending
from tests.accounts.factories import BusinessAccountFactory
from tests.factories import UserFactory
from tests.outages.factories import closing
from tests.portal.outbox_backends import NOW, WorkerKilled

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_backends")]
Status = Delivery.Status
MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def recipient() -> Any:
    return UserFactory.create(email="sophie@mapleleaf.example", first_name="Sophie")


@pytest.fixture
def account() -> Any:
    return BusinessAccountFactory.create(legal_name="Maple Leaf Outfitters Inc.")


def queue(recipient: Any, account: Any, key: str = "test:1", **fields: Any) -> Delivery:
    """A real kind (the access-removed e-mail), queued straight on the outbox."""
    return queue_email(
        kind="accounts.user_removed",
        to=recipient.email,
        user=recipient,
        language=fields.pop("language", recipient.language),
        account_id=account.pk,
        facts={"first_name": recipient.first_name},
        dedupe_key=key,
        **fields,
    )


def send_now(delivery: Delivery) -> bool:
    return tasks.send_delivery.apply(args=(delivery.pk,)).get()


def close_delegated_users(**when: Any) -> Any:
    interruption = closing("delegated_users", **when)
    cache.clear()
    gate.forget_process_copy()
    return interruption


# --- queued on commit, sent once ----------------------------------------------------------------


def test_the_message_is_sent_after_commit_once(
    recipient, account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        delivery = queue(recipient, account)
    assert mail.outbox == [] and len(callbacks) == 1
    assert delivery.status == Status.PENDING and delivery.enqueued_at is not None

    callbacks[0]()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SENT, 1)
    assert delivery.sent_at is not None
    [message] = mail.outbox
    assert message.to == ["sophie@mapleleaf.example"]
    assert message.subject == "You no longer act for Maple Leaf Outfitters Inc."
    # A second task for the row (redelivered, or queued by the sweeper) sends nothing.
    assert send_now(delivery) is False
    assert len(mail.outbox) == 1


def test_the_same_message_for_the_same_reason_exists_once(
    recipient, account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = queue(recipient, account, key="accounts.user_removed:link:7")
        again = queue(recipient, account, key="accounts.user_removed:link:7")

    assert again.pk == first.pk and len(callbacks) == 1
    assert Delivery.objects.count() == 1 and len(mail.outbox) == 1


def test_the_message_speaks_the_recipients_language(
    recipient, account, django_capture_on_commit_callbacks
):
    recipient.language = "fr"
    recipient.save()
    with django_capture_on_commit_callbacks(execute=True):
        queue(recipient, account)

    [message] = mail.outbox
    assert message.subject == "Vous n\u2019agissez plus pour Maple Leaf Outfitters Inc."
    assert message.alternatives[0][1] == "text/html"  # type: ignore[attr-defined]


def test_a_kind_must_be_registered_and_namespaced():
    names = [kind.name for kind in registered_kinds()]
    assert "accounts.welcome" in names and all("." in name for name in names)
    assert kind_for("accounts.temporary_password").channel == "sms"
    with pytest.raises(ValueError, match="sent by email"):
        from portal.outbox import queue_sms

        queue_sms(
            kind="accounts.welcome", to="+16135550100", language="en", facts={}, dedupe_key="x"
        )


# --- errors, backoff and the sweeper ------------------------------------------------------------


def test_a_passing_error_is_recorded_and_retried_later_by_the_sweeper_alone(
    recipient, account, clock, scripted_backends, django_capture_on_commit_callbacks
):
    scripted_backends.append(
        ("before", smtplib.SMTPServerDisconnected("Connection unexpectedly closed"))
    )
    with django_capture_on_commit_callbacks(execute=True):
        delivery = queue(recipient, account)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.PENDING, 1)
    assert delivery.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert delivery.next_attempt_at == NOW + MINUTE
    assert delivery.enqueued_at is None and mail.outbox == []

    # Not due yet: the sweeper leaves it alone (no second chain).
    clock.shift(30)
    assert sending.sweep()["enqueued"] == 0

    scripted_backends.append(("before", smtplib.SMTPServerDisconnected("again")))
    clock.shift(31)
    assert sending.sweep()["enqueued"] == 1
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.next_attempt_at) == (
        2,
        NOW + 61 * datetime.timedelta(seconds=1) + 2 * MINUTE,
    )

    clock.shift(2 * MINUTE)
    assert sending.sweep()["enqueued"] == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SENT, 3)
    assert len(mail.outbox) == 1
    assert sending.sweep()["enqueued"] == 0


def test_the_backoff_doubles_up_to_an_hour():
    assert [sending.backoff(tries).total_seconds() for tries in (1, 2, 3, 6, 7, 12)] == [
        60,
        120,
        240,
        1920,
        3600,
        3600,
    ]


def test_a_refused_recipient_fails_at_once_and_is_never_swept(
    recipient, account, clock, scripted_backends, django_capture_on_commit_callbacks
):
    scripted_backends.append(
        ("before", AnymailRecipientsRefused("sophie@mapleleaf.example refused"))
    )
    with django_capture_on_commit_callbacks(execute=True):
        delivery = queue(recipient, account)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.FAILED, 1)
    assert delivery.last_error.startswith("AnymailRecipientsRefused")
    clock.shift(datetime.timedelta(days=1))
    assert sending.sweep()["enqueued"] == 0
    assert mail.outbox == []


def test_the_last_try_fails_the_row(
    recipient, account, clock, settings, scripted_backends, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        delivery = queue(recipient, account)
    Delivery.objects.filter(pk=delivery.pk).update(attempts=settings.PORTAL_OUTBOX_MAX_ATTEMPTS - 1)
    scripted_backends.append(("before", smtplib.SMTPServerDisconnected("down")))

    send_now(delivery)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (
        Status.FAILED,
        settings.PORTAL_OUTBOX_MAX_ATTEMPTS,
    )


def test_the_sweeper_never_requeues_failed_rows_or_spent_ones(recipient, account, clock, settings):
    failed = queue(recipient, account, key="a")
    spent = queue(recipient, account, key="b")
    Delivery.objects.filter(pk=failed.pk).update(status=Status.FAILED, enqueued_at=None)
    Delivery.objects.filter(pk=spent.pk).update(
        attempts=settings.PORTAL_OUTBOX_MAX_ATTEMPTS, enqueued_at=None
    )
    clock.shift(datetime.timedelta(hours=2))

    assert sending.sweep()["enqueued"] == 0
    assert mail.outbox == []


def test_the_sweeper_hands_over_a_lost_task_once(
    recipient, account, clock, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # the broker lost the task
        delivery = queue(recipient, account)

    # Handed over moments ago: maybe still in the queue, so not handed over again yet.
    assert sending.sweep()["enqueued"] == 0
    clock.shift(settings.PORTAL_OUTBOX_REQUEUE_AFTER + 1)
    assert sending.sweep()["enqueued"] == 1
    assert sending.sweep()["enqueued"] == 0
    delivery.refresh_from_db()
    assert delivery.status == Status.SENT and len(mail.outbox) == 1


# --- a worker lost mid-send: UNKNOWN, never resent by itself ------------------------------------


def test_a_worker_killed_after_the_provider_took_it_leaves_one_message_and_unknown(
    recipient, account, clock, settings, scripted_backends, django_capture_on_commit_callbacks
):
    scripted_backends.append(("after", WorkerKilled()))
    with django_capture_on_commit_callbacks(execute=False):
        delivery = queue(recipient, account)
    with pytest.raises(WorkerKilled):
        sending.send(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == Status.SENDING

    # Redelivered at once (acks late, reject on worker lost): the claim stops it.
    assert sending.send(delivery.pk) is False
    clock.shift(settings.PORTAL_OUTBOX_SENDING_TIMEOUT - 1)
    assert sending.sweep() == {"unknown": 0, "released": 0, "enqueued": 0}
    clock.shift(2)
    assert sending.sweep()["unknown"] == 1

    clock.shift(datetime.timedelta(days=1))
    assert sending.sweep() == {"unknown": 0, "released": 0, "enqueued": 0}
    delivery.refresh_from_db()
    assert delivery.status == Status.UNKNOWN and len(mail.outbox) == 1


# --- the gate -----------------------------------------------------------------------------------


def test_a_closed_feature_holds_the_row_without_counting_an_attempt(
    recipient, account, clock, django_capture_on_commit_callbacks
):
    interruption = close_delegated_users()
    with django_capture_on_commit_callbacks(execute=True):
        delivery = queue(recipient, account)
    Delivery.objects.filter(pk=delivery.pk).update(attempts=2)  # earlier tries are kept

    assert send_now(delivery) is False
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.held_for) == (
        Status.PENDING,
        2,
        "delegated_users",
    )
    assert delivery.next_attempt_at == interruption.ends_at
    assert sending.sweep()["enqueued"] == 0 and mail.outbox == []

    clock.move_to(interruption.ends_at + MINUTE)
    gate.forget_process_copy()
    assert sending.sweep()["enqueued"] == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SENT, 3)


def test_a_window_cancelled_early_releases_the_held_rows(
    recipient, account, clock, django_capture_on_commit_callbacks
):
    interruption = close_delegated_users()
    with django_capture_on_commit_callbacks(execute=True):
        delivery = queue(recipient, account)
    interruption.window.cancelled_at = timezone.now()
    interruption.window.save()
    cache.clear()
    gate.forget_process_copy()

    assert sending.sweep() == {"unknown": 0, "released": 1, "enqueued": 1}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.held_for) == (Status.SENT, 1, "")


# --- staff's list -------------------------------------------------------------------------------


@pytest.fixture
def staff(client, mfa_staff_user):
    client.force_login(mfa_staff_user.user)
    return client


def test_staff_see_every_delivery_with_its_attempts_and_last_error(
    staff, recipient, account, django_assert_max_num_queries
):
    for number in range(5):
        delivery = queue(recipient, account, key=f"k{number}")
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Status.FAILED, attempts=6, last_error="SMTPServerDisconnected: down"
    )
    url = reverse("admin:portal_delivery_changelist")

    with django_assert_max_num_queries(12):
        response = staff.get(url, {"status__exact": "failed"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "SMTPServerDisconnected: down" in page and "sophie@mapleleaf.example" in page
    assert staff.get(reverse("admin:portal_delivery_add")).status_code == 403
    change = staff.get(reverse("admin:portal_delivery_change", args=[delivery.pk]))
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()


def test_send_again_puts_failed_and_unknown_rows_back_and_nothing_else(
    staff, recipient, account, django_capture_on_commit_callbacks
):
    failed = queue(recipient, account, key="failed")
    unknown = queue(recipient, account, key="unknown")
    sent = queue(recipient, account, key="sent")
    Delivery.objects.filter(pk=failed.pk).update(status=Status.FAILED, attempts=6)
    Delivery.objects.filter(pk=unknown.pk).update(status=Status.UNKNOWN, attempts=1)
    Delivery.objects.filter(pk=sent.pk).update(status=Status.SENT, attempts=1)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            reverse("admin:portal_delivery_changelist"),
            {"action": "send_again", "_selected_action": [failed.pk, unknown.pk, sent.pk]},
            follow=True,
        )

    assert "2 messages will be sent again." in response.content.decode()
    statuses = dict(Delivery.objects.values_list("dedupe_key", "status"))
    assert statuses == {"failed": Status.SENT, "unknown": Status.SENT, "sent": Status.SENT}
    assert len(mail.outbox) == 2


def test_staff_who_may_only_view_cannot_send_again(client, recipient, account):
    from django.contrib.auth.models import Permission

    viewer = UserFactory.create(is_staff=True)
    TOTP.activate(viewer, generate_totp_secret())  # the admin asks staff for a second factor
    viewer.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    client.force_login(viewer)
    queue(recipient, account)

    response = client.get(reverse("admin:portal_delivery_changelist"))

    assert response.status_code == 200
    assert "sophie@mapleleaf.example" in response.content.decode()
    assert "send_again" not in response.content.decode()
