"""portal.outbox, the cases mutation testing found unasked: what is recorded of an error (its type
alone, never the subject or body quoted, configured permanent errors) and logged; a worker that
never touches a row it no longer holds (a twin claimed at the same instant, a row taken over, a
faster worker); the gate's holds and releases; the sweeper's stamp and its batch; staff's "Send
again"; texts; a kind's finish_email and a failing after_send; and a twin queued meanwhile."""

import contextlib
import dataclasses
import datetime
import logging
import smtplib
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.cache import cache
from django.core.mail.backends.locmem import EmailBackend as LocmemEmailBackend
from django.db import connection
from django.utils import timezone
from sms.backends.base import BaseSmsBackend

from outages import gate
from portal import tasks
from portal.models import Delivery
from portal.outbox import kind_for, queue_email, queue_sms, register_kind, sending
from returns import notifications
from tests.accounts.factories import BusinessAccountFactory
from tests.factories import UserFactory
from tests.outages.factories import closing
from tests.portal.outbox_backends import NOW, EchoingProviderError, WorkerKilled
from tests.returns.factories import EventFactory, RecipientFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_backends")]
Status = Delivery.Status
MINUTE = datetime.timedelta(minutes=1)
REMOVED = "accounts.user_removed"  # a real kind, of the delegated_users feature


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A broker that keeps what it is handed (no worker takes it yet): the row ids enqueued."""
    handed: list[int] = []
    monkeypatch.setattr(tasks.send_delivery, "delay", handed.append)
    monkeypatch.setattr(tasks.send_deliveries, "delay", handed.extend)
    return handed


@pytest.fixture
def recipient() -> Any:
    return UserFactory.create(email="sophie@mapleleaf.example", first_name="Sophie")


@pytest.fixture
def account() -> Any:
    return BusinessAccountFactory.create(legal_name="Maple Leaf Outfitters Inc.")


def queue(recipient: Any, account: Any, key: str = "test:1", kind: str = REMOVED) -> Delivery:
    """Queued, its task not run (the caller sends it)."""
    return queue_email(
        kind=kind,
        to=recipient.email,
        user=recipient,
        language="en",
        account_id=account.pk,
        facts={"first_name": recipient.first_name},
        dedupe_key=key,
    )


def allauth_message(subject: str, body: str, key: str = "allauth:1") -> Delivery:
    """allauth's own message, queued finished (subject and body as rendered in the request)."""
    return queue_email(
        kind="allauth.message",
        to="sophie@mapleleaf.example",
        language="en",
        facts={"subject": subject, "body": body, "html": ""},
        dedupe_key=key,
    )


def close(*features: str, **when: Any) -> Any:
    interruption = closing(*features, **when)
    cache.clear()
    gate.forget_process_copy()
    return interruption


def reopen(interruption: Any) -> None:
    interruption.window.cancelled_at = timezone.now()
    interruption.window.save()
    cache.clear()
    gate.forget_process_copy()


def row(delivery: Delivery) -> Delivery:
    return Delivery.objects.get(pk=delivery.pk)


# --- what is recorded and logged of an error ------------------------------------------------------


def test_an_error_without_a_message_is_recorded_by_its_type_alone(
    recipient, account, clock, scripted_backends
):
    delivery = queue(recipient, account)
    scripted_backends.append(("before", smtplib.SMTPServerDisconnected()))

    assert sending.send(delivery.pk) is False

    assert (row(delivery).status, row(delivery).last_error) == (
        Status.PENDING,
        "SMTPServerDisconnected",
    )


class QuotingEmailBackend(LocmemEmailBackend):
    """A provider whose refusal quotes the message's `quoted` part ("subject" or "body")."""

    quoted = "subject"

    def send_messages(self, messages: Sequence[Any]) -> int:
        raise RuntimeError(f"Rejected: {getattr(messages[0], self.quoted).strip()}")


@pytest.mark.parametrize("quoted", ["subject", "body"])
def test_a_refusal_quoting_the_subject_or_body_is_recorded_without_it(
    quoted, clock, settings, monkeypatch
):
    settings.EMAIL_BACKEND = f"{__name__}.QuotingEmailBackend"
    monkeypatch.setattr(QuotingEmailBackend, "quoted", quoted)
    delivery = allauth_message("Reset your password", "Use code 482913 to reset it.")

    assert sending.send(delivery.pk) is False

    assert row(delivery).last_error == "RuntimeError: Rejected: …"


def test_a_configured_permanent_error_fails_the_row_at_once(
    recipient, account, clock, settings, scripted_backends
):
    settings.PORTAL_OUTBOX_PERMANENT_ERRORS = ["tests.portal.outbox_backends.EchoingProviderError"]
    delivery = queue(recipient, account)
    scripted_backends.append(("before", EchoingProviderError("number refused")))

    assert sending.send(delivery.pk) is False

    assert (row(delivery).status, row(delivery).attempts) == (Status.FAILED, 1)
    assert row(delivery).last_error == "EchoingProviderError: number refused"


def test_each_failure_is_logged_with_its_row_its_kind_and_the_error(
    recipient, account, clock, scripted_backends, caplog
):
    delivery = queue(recipient, account)
    scripted_backends.append(("before", smtplib.SMTPServerDisconnected("down")))

    with caplog.at_level(logging.WARNING, logger="portal.outbox.sending"):
        sending.send(delivery.pk)

    assert [record.getMessage() for record in caplog.records] == [
        f"delivery {delivery.pk} ({REMOVED}) failed: SMTPServerDisconnected: down"
    ]


# --- a worker touches only the row it holds -------------------------------------------------------


def test_a_failure_or_a_success_at_the_same_instant_touches_only_its_own_row(
    recipient, account, clock, scripted_backends
):
    stuck, failing, going = (queue(recipient, account, key=key) for key in ("a", "b", "c"))
    scripted_backends.extend(
        [("after", WorkerKilled()), ("before", smtplib.SMTPServerDisconnected("down"))]
    )
    with pytest.raises(WorkerKilled):  # taken by the provider, then the worker died
        sending.send(stuck.pk)

    assert sending.send(failing.pk) is False
    assert sending.send(going.pk) is True

    assert (row(failing).status, row(going).status) == (Status.PENDING, Status.SENT)
    assert (row(stuck).status, row(stuck).claimed_at, row(stuck).last_error) == (
        Status.SENDING,
        NOW,
        "",
    )
    assert row(stuck).sent_at is None


takeover: dict[str, Any] = {}


class TakenOverBackend(LocmemEmailBackend):
    """While the first worker sends, its row is taken over: the sweeper finds it stuck past the
    timeout (UNKNOWN), staff send it again, and a second worker claims it and dies mid-send.
    Then the first worker's send ends with `takeover["error"]` (or goes, when None)."""

    def send_messages(self, messages: Sequence[Any]) -> int:
        if takeover.get("second"):
            raise WorkerKilled()
        takeover["second"] = True
        takeover["clock"].shift(django_settings.PORTAL_OUTBOX_SENDING_TIMEOUT + 1)
        sending.sweep()
        sending.send_again(Delivery.objects.filter(pk=takeover["pk"]))
        with contextlib.suppress(WorkerKilled):
            sending.send(takeover["pk"])
        if takeover["error"] is not None:
            raise takeover["error"]
        return super().send_messages(messages)


@pytest.mark.parametrize("error", [None, smtplib.SMTPServerDisconnected("late")])
def test_a_worker_whose_row_was_taken_over_leaves_it_to_the_new_claim(
    error, recipient, account, clock, settings
):
    settings.EMAIL_BACKEND = f"{__name__}.TakenOverBackend"
    delivery = queue(recipient, account)
    takeover.clear()
    takeover.update(clock=clock, pk=delivery.pk, error=error)

    sending.send(delivery.pk)

    now = row(delivery)
    assert (now.status, now.attempts, now.last_error, now.sent_at) == (
        Status.SENDING,
        1,
        "",
        None,
    )
    assert now.claimed_at == NOW + datetime.timedelta(
        seconds=settings.PORTAL_OUTBOX_SENDING_TIMEOUT + 1
    )


race: dict[str, Any] = {}


def second_worker_gate(feature: str) -> Any:
    """The gate (settings.PORTAL_OUTBOX_GATE), asked inside the first worker's claim: a second
    task for the same row runs then (what its send returns goes to `race["second"]`); then it
    answers `race["closed"]` (None: open)."""
    pk = race.pop("pk", None)
    if pk is not None:
        race["second"] = sending.send(pk)
    return race.get("closed")


@pytest.mark.parametrize("first_try", ["goes", "fails"])
def test_a_second_task_while_the_row_is_claimed_sends_nothing(
    first_try, recipient, account, clock, settings, scripted_backends
):
    settings.PORTAL_OUTBOX_GATE = f"{__name__}.second_worker_gate"
    delivery = queue(recipient, account)
    if first_try == "fails":
        scripted_backends.append(("before", smtplib.SMTPServerDisconnected("down")))
    race.clear()
    race.update(pk=delivery.pk)

    assert sending.send(delivery.pk) is (first_try == "goes")

    assert race["second"] is False
    expected = (Status.SENT, 1, 1) if first_try == "goes" else (Status.PENDING, 1, 0)
    assert (row(delivery).status, row(delivery).attempts, len(mail.outbox)) == expected


def test_a_row_another_worker_sent_before_the_hold_is_not_marked_held(recipient, account, clock):
    delivery = queue(recipient, account)
    interruption = close("delegated_users")
    second: list[bool] = []

    def second_worker_first(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        # Between the rolled-back claim and the hold (the one statement naming the feature),
        # the feature reopens and another worker claims and sends the row.
        if not second and params and "delegated_users" in params:
            second.append(True)
            reopen(interruption)
            second.append(sending.send(delivery.pk))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(second_worker_first):
        assert sending.send(delivery.pk) is False

    assert second == [True, True]
    assert (row(delivery).status, row(delivery).held_for) == (Status.SENT, "")
    assert row(delivery).next_attempt_at == NOW


# --- the gate -------------------------------------------------------------------------------------


def test_a_row_not_yet_due_is_left_alone_even_while_its_feature_is_closed(
    recipient, account, clock
):
    delivery = queue(recipient, account)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=NOW + 5 * MINUTE, attempts=1)
    close("delegated_users")

    assert sending.send(delivery.pk) is False

    assert (row(delivery).next_attempt_at, row(delivery).held_for) == (NOW + 5 * MINUTE, "")


def test_without_a_gate_configured_every_feature_is_open(clock, settings):
    close("delegated_users")
    del settings.PORTAL_OUTBOX_GATE

    assert sending.closed_until("delegated_users") is None


def test_rows_of_features_reopened_early_are_released_each_and_counted(
    recipient, account, clock, broker
):
    users = queue(recipient, account, key="users")
    invoices = queue(recipient, account, key="invoices", kind="billing.invoice_issued")
    interruption = close("delegated_users", "invoices")
    for held in (users, invoices):
        assert sending.send(held.pk) is False
    assert {row(held).held_for for held in (users, invoices)} == {"delegated_users", "invoices"}
    clock.shift(10 * MINUTE)
    reopen(interruption)

    assert sending.sweep() == {"unknown": 0, "released": 2, "enqueued": 2}

    for held in (users, invoices):
        assert (row(held).held_for, row(held).next_attempt_at) == ("", NOW + 10 * MINUTE)


def test_a_closure_that_ended_as_planned_releases_nothing_and_the_send_clears_the_hold(
    recipient, account, clock, broker
):
    delivery = queue(recipient, account)
    interruption = close("delegated_users")
    assert sending.send(delivery.pk) is False
    clock.move_to(interruption.ends_at + MINUTE)
    gate.forget_process_copy()

    assert sending.sweep() == {"unknown": 0, "released": 0, "enqueued": 1}
    assert sending.send(delivery.pk) is True

    assert (row(delivery).status, row(delivery).held_for) == (Status.SENT, "")


# --- the sweeper's hand-over ----------------------------------------------------------------------


def test_a_row_handed_over_is_stamped_so_the_next_sweep_skips_it(
    recipient, account, clock, settings, broker
):
    delivery = queue(recipient, account)
    broker.clear()  # the task of the commit was lost
    clock.shift(settings.PORTAL_OUTBOX_REQUEUE_AFTER + 1)

    assert sending.sweep()["enqueued"] == 1
    assert sending.sweep()["enqueued"] == 0

    assert broker == [delivery.pk]
    assert row(delivery).enqueued_at == timezone.now()


def test_the_sweeper_hands_over_a_thousand_rows_at_most_the_longest_due_first(clock, broker):
    Delivery.objects.bulk_create(
        Delivery(
            channel="email",
            kind=REMOVED,
            address=f"user{n}@business.example",
            dedupe_key=f"bulk:{n}",
            next_attempt_at=NOW - datetime.timedelta(seconds=n),
        )
        for n in range(1001)
    )
    last = Delivery.objects.get(dedupe_key="bulk:0")  # due the most recently

    assert sending.sweep()["enqueued"] == 1000

    assert len(broker) == 1000 and last.pk not in broker
    assert sending.sweep()["enqueued"] == 1 and broker[-1] == last.pk


# --- staff's "Send again" -------------------------------------------------------------------------


def test_send_again_puts_a_failed_row_back_as_new_and_leaves_other_rows_alone(
    recipient, account, clock, scripted_backends, settings
):
    failed, sent, pending = (queue(recipient, account, key=key) for key in ("f", "s", "p"))
    Delivery.objects.filter(pk=failed.pk).update(attempts=settings.PORTAL_OUTBOX_MAX_ATTEMPTS - 1)
    scripted_backends.append(("before", smtplib.SMTPServerDisconnected("down")))
    sending.send(failed.pk)
    sending.send(sent.pk)
    assert (row(failed).status, row(sent).status) == (Status.FAILED, Status.SENT)
    clock.shift(datetime.timedelta(hours=3))

    assert sending.send_again([row(failed), row(sent), row(pending)]) == 1

    again = row(failed)
    assert (again.status, again.attempts, again.held_for, again.claimed_at) == (
        Status.PENDING,
        0,
        "",
        None,
    )
    assert again.next_attempt_at == again.enqueued_at == timezone.now()
    assert (row(sent).status, row(sent).attempts) == (Status.SENT, 1)
    assert (row(pending).status, row(pending).enqueued_at) == (Status.PENDING, NOW)


# --- texts ----------------------------------------------------------------------------------------


@pytest.fixture
def new_user() -> Any:
    """Someone added by an administrator: no password of their own yet, French-speaking."""
    user = UserFactory.create(language="fr")
    user.set_unusable_password()
    user.save()
    return user


def text(user: Any) -> Delivery:
    return queue_sms(
        kind="accounts.temporary_password",
        to="+16135550142",
        user=user,
        language="fr",
        facts={"reason": "added"},
        dedupe_key=f"sms:{user.pk}",
    )


def test_a_text_keeps_its_facts_and_is_written_in_the_recipients_language(
    new_user, clock, sms_outbox
):
    delivery = text(new_user)

    assert row(delivery).facts == {"reason": "added"}
    assert sending.send(delivery.pk) is True
    [sent] = sms_outbox
    assert sent.body.startswith("Portail d\N{RIGHT SINGLE QUOTATION MARK}entreprise : ")
    assert sent.recipients == ["+16135550142"]
    assert sent.originator == django_settings.DEFAULT_FROM_SMS  # the portal's own number


class SilentSmsBackend(BaseSmsBackend):
    """A provider that takes the texts and sends none of them."""

    def send_messages(self, messages: list[Any]) -> int:
        return 0


def test_a_text_the_backend_did_not_send_is_tried_again_later(new_user, clock, settings):
    settings.SMS_BACKEND = f"{__name__}.SilentSmsBackend"
    delivery = text(new_user)

    assert sending.send(delivery.pk) is False

    assert (row(delivery).status, row(delivery).attempts, row(delivery).last_error) == (
        Status.PENDING,
        1,
        "SmsNotSent: the SMS backend sent 0 message(s)",
    )


# --- kinds: unknown, finish_email, a failing after_send -------------------------------------------


def test_a_row_of_a_kind_no_app_registers_fails_for_good_naming_the_kind(clock):
    delivery = Delivery.objects.create(
        channel="email", kind="tests.gone", address="a@b.example", dedupe_key="gone:1"
    )

    assert sending.send(delivery.pk) is False

    assert (row(delivery).status, row(delivery).attempts, row(delivery).last_error) == (
        Status.FAILED,
        1,
        "UnknownKind: tests.gone",
    )


def test_an_email_goes_as_its_kind_finished_it(clock, settings):
    settings.PORTAL_BASE_URL = "https://portal.example"
    event = EventFactory.create()
    subscriber = RecipientFactory.create(account=event.account, language="fr")
    notifications.queue_event_notices(event)
    delivery = Delivery.objects.get(kind="returns.event")

    assert sending.send(delivery.pk) is True

    [sent] = mail.outbox
    url = notifications.unsubscribe_url(subscriber)
    assert sent.extra_headers["List-Unsubscribe"] == f"<{url}>"
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_kinds_finish_email_is_given_the_row_its_message_and_its_context(clock):
    original = kind_for("allauth.message")
    given: list[tuple[Any, ...]] = []
    register_kind(dataclasses.replace(original, finish_email=lambda *args: given.append(args)))
    try:
        delivery = allauth_message("Welcome", "Hello.")
        assert sending.send(delivery.pk) is True
    finally:
        register_kind(original)

    [(finished_row, message, context)] = given
    assert finished_row.pk == delivery.pk
    assert (message.subject, message.to) == (mail.outbox[0].subject, mail.outbox[0].to)
    assert isinstance(context, dict)


@pytest.fixture
def after_send_fails() -> Iterator[None]:
    """allauth's message kind, its after_send broken (its row's stamp fails)."""
    original = kind_for("allauth.message")

    def broken(delivery: Delivery) -> None:
        raise RuntimeError("stamp lost")

    register_kind(dataclasses.replace(original, after_send=broken))
    yield
    register_kind(original)


def test_an_after_send_that_fails_leaves_the_row_sent_with_its_error_kept_and_logged(
    after_send_fails, clock, caplog
):
    delivery = allauth_message("Welcome", "Hello.")

    with caplog.at_level(logging.ERROR, logger="portal.outbox.sending"):
        assert sending.send(delivery.pk) is True

    sent = row(delivery)
    assert (sent.status, sent.sent_at, sent.last_error) == (
        Status.SENT,
        NOW,
        "RuntimeError: stamp lost",
    )
    assert len(mail.outbox) == 1
    [record] = caplog.records
    assert record.getMessage() == f"after_send of delivery {delivery.pk} failed"
    assert record.exc_info is not None


# --- queuing --------------------------------------------------------------------------------------


def test_a_twin_queued_meanwhile_is_returned_and_the_callers_transaction_goes_on(
    recipient, account, clock, broker, django_capture_on_commit_callbacks
):
    twin: list[Delivery] = []

    def twin_first(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        # Just before our insert, another request queues the same message.
        if sql.startswith("INSERT") and '"portal_delivery"' in sql and not twin:
            twin.append(Delivery())
            twin[0] = queue(recipient, account, key="twin:1")
        return execute(sql, params, many, context)

    with (
        django_capture_on_commit_callbacks(execute=True),
        connection.execute_wrapper(twin_first),
    ):
        mine = queue(recipient, account, key="twin:1")

    assert mine.pk == twin[0].pk
    assert Delivery.objects.filter(dedupe_key="twin:1").count() == 1  # the caller still queries
    assert broker == [mine.pk]  # handed over once: by the twin
