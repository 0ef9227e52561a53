"""Sending one delivery, CLAIM → SEND → MARK, and the sweeper that keeps every row moving.

The promise: at most one message per row, never a silent duplicate and never a silent loss.
- CLAIM: one conditional UPDATE that returns the row (PENDING and due → SENDING, `claimed_at`,
  one attempt counted); nothing is read before it. Only one worker can win it, so a redelivered
  or duplicate task sends nothing.
- SEND: in the claim's transaction, the kind's context is built and the message rendered in the
  recipient's language. The claim and the context commit together before the message is handed
  to the provider, so what the context saved — a temporary password's hash — is the state the
  message speaks of. When the context or the rendering fails, the whole transaction is rolled
  back (the claim and what the context wrote) and one UPDATE claims the row again with the
  failure recorded: one attempt counted, unless another worker took the row meanwhile.
- MARK: SENDING → SENT, with the kind's after_send (if any) in the same transaction.
A worker killed between claim and mark leaves the row SENDING; the sweeper turns it UNKNOWN
after PORTAL_OUTBOX_SENDING_TIMEOUT and staff see it (the provider may or may not have taken
it). An UNKNOWN row is never resent automatically; staff's "Send again" resends it.

Rows queued together are sent in small groups (`send_together`): one CLAIM, one commit and one
MARK for the group, each row's message still sent at most once; a row that cannot go with the
others (held, unknown kind, no message) sends the group one row at a time. The price: a worker
killed mid-group leaves the whole group UNKNOWN, sent or not.

Errors: every failed try is an attempt, recorded by type and a short message (never the
message itself). Permanent errors (a refused recipient or address, `Undeliverable`) fail the
row at once; others put it back to PENDING with `next_attempt_at` = now + 60 s x 2^(tries-1),
at most an hour, until PORTAL_OUTBOX_MAX_ATTEMPTS tries, then FAILED. The task never schedules
its own retry: the sweeper enqueues rows that are due, so each message has one chain.

The gate, asked in the claim's transaction: while the kind's feature is closed the claim is
rolled back and the row waits (PENDING, `held_for` = the feature, `next_attempt_at` = the
closure's end) without an attempt counted; the sweeper makes it due again as soon as the
feature reopens.
"""

import datetime
import logging
import smtplib
from collections.abc import Iterable
from typing import Any

import sms
from anymail.exceptions import AnymailInvalidAddress, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.module_loading import import_string

from portal.models import Delivery
from portal.outbox.kinds import (
    GroupContextBuilder,
    MessageKind,
    Undeliverable,
    UnknownKind,
    kind_for,
)
from portal.outbox.render import render_email, render_text

logger = logging.getLogger(__name__)

Status = Delivery.Status

BACKOFF_SECONDS = 60
BACKOFF_MAX_SECONDS = 3600


class SmsNotSent(Exception):
    """The SMS backend accepted nothing; worth another try."""


# Trying again cannot help: the provider refused the recipient or the address is malformed.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    AnymailRecipientsRefused,
    AnymailInvalidAddress,
    smtplib.SMTPRecipientsRefused,
    Undeliverable,
    UnknownKind,
)


def send(delivery_id: int) -> bool:
    """Send one delivery if it is PENDING and due. True when it was sent now.

    False when there was nothing to do (sent, failed, claimed by another worker, not due yet),
    the gate held it or its message could not be made. Provider, template and context errors
    are recorded on the row, not raised. A database error in the claim, or one that keeps a
    failure from being recorded, is raised: the row is still PENDING and the task retries it.
    """
    prepared = _claimed_message(delivery_id, timezone.now())
    if prepared is None:
        return False
    delivery, kind, message = prepared
    if not _delivered(delivery, message):
        return False
    _mark_sent(delivery, kind)
    return True


Prepared = tuple[Delivery, MessageKind, EmailMultiAlternatives | str]


def send_together(delivery_ids: list[int]) -> int:
    """Send rows queued together, as `send` does each, with one claim, one commit and one mark
    for all of them (a large fan-out paid two commits and four statements of its own per
    message). Returns how many were sent now.

    The rows are claimed and prepared in one transaction; when any of them is held by the gate,
    of an unknown kind or cannot be prepared, that transaction is rolled back and each row
    goes through `send` on its own, so no row's failure touches another's. A worker killed
    after the commit leaves all of them SENDING (then UNKNOWN), where `send` risked one: keep
    the groups small (portal.tasks.CLAIM_TOGETHER).
    """
    try:
        prepared = _claim_and_prepare_together(delivery_ids, timezone.now())
    except _OneByOne as group:
        logger.info("outbox: %d rows sent one by one (%r)", len(delivery_ids), group.__cause__)
        return sum(send(delivery_id) for delivery_id in delivery_ids)
    delivered = [
        (delivery, kind) for delivery, kind, message in prepared if _delivered(delivery, message)
    ]
    _mark_all_sent(delivered)
    return len(delivered)


class _OneByOne(Exception):
    """A row of the group cannot go with the others: rolls back the group's claim."""


def _claim_and_prepare_together(delivery_ids: list[int], now: datetime.datetime) -> list[Prepared]:
    """CLAIM, the gate, the contexts and the messages of the rows that are PENDING and due, in
    one transaction committed before anything is sent, in the order given. Raises _OneByOne
    (rolled back) when one of them cannot go."""
    with transaction.atomic():
        claimed = {delivery.pk: delivery for delivery in _claim_all(delivery_ids, now)}
        try:
            return _prepare_group([claimed[pk] for pk in delivery_ids if pk in claimed])
        except Exception as error:  # _Held included: `send` tells them apart
            raise _OneByOne from error


def _prepare_group(claimed: list[Delivery]) -> list[Prepared]:
    rows = [(delivery, kind_for(delivery.kind)) for delivery in claimed]
    for delivery, kind in rows:
        _raise_if_held(delivery, kind)
    contexts = _group_contexts(rows)
    return [
        (delivery, kind, _render(delivery, kind, contexts[delivery.pk])) for delivery, kind in rows
    ]


def _group_contexts(rows: list[tuple[Delivery, MessageKind]]) -> dict[int, dict[str, Any]]:
    """Each row's context by pk: the rows of a kind with `contexts` built together."""
    contexts: dict[int, dict[str, Any]] = {}
    together: dict[GroupContextBuilder, list[Delivery]] = {}
    for delivery, kind in rows:
        if kind.contexts is None:
            contexts[delivery.pk] = _context(delivery, kind)
        else:
            together.setdefault(kind.contexts, []).append(delivery)
    for build, deliveries in together.items():
        contexts.update(build(deliveries))
    return contexts


def _claim_all(delivery_ids: list[int], now: datetime.datetime) -> list[Delivery]:
    """PENDING and due → SENDING, one attempt counted, for each of the rows: those claimed, in
    no order.

    One UPDATE … RETURNING: Django's update() returns a count only, and reading the rows first
    would cost a statement more.
    """
    at = connection.ops.adapt_datetimefield_value(now)
    sql = CLAIM_SQL.format(ids=", ".join(["%s"] * len(delivery_ids)))
    return list(Delivery.objects.raw(sql, [Status.SENDING, at, *delivery_ids, Status.PENDING, at]))


def _delivered(delivery: Delivery, message: EmailMultiAlternatives | str) -> bool:
    """Hand one claimed message to the provider; a failure is recorded on its row."""
    try:
        _deliver(delivery, message)
    except Exception as error:  # every failure is recorded: none goes unseen
        _record_failure(delivery, error, secrets=_secrets_of(message))
        return False
    return True


class _Held(Exception):
    """The kind's feature is closed: raised in the claim's transaction to roll the claim back."""

    def __init__(self, feature: str, until: datetime.datetime) -> None:
        super().__init__(feature)
        self.feature, self.until = feature, until


class _NotPrepared(Exception):
    """The kind is unknown or its message could not be made: raised in the claim's transaction
    to roll back the claim and whatever the context wrote."""

    def __init__(self, delivery: Delivery, error: Exception) -> None:
        super().__init__(str(error))
        self.delivery, self.error = delivery, error


def _claimed_message(delivery_id: int, now: datetime.datetime) -> Prepared | None:
    """The claimed row, its kind and its message, committed; None when there is nothing to send
    (the row held by the gate, or its failure recorded)."""
    try:
        return _claim_and_prepare(delivery_id, now)
    except _Held as held:
        _hold(delivery_id, held.feature, held.until)
    except _NotPrepared as failed:
        _record_unprepared(failed.delivery, failed.error)
    return None


def _claim_and_prepare(delivery_id: int, now: datetime.datetime) -> Prepared | None:
    """CLAIM, the gate, the context and the message in one transaction, committed before anything
    is sent. None when the row is not PENDING and due; raises _Held or _NotPrepared (rolled
    back)."""
    with transaction.atomic():
        delivery = _claim(delivery_id, now)
        if delivery is None:
            return None
        try:
            kind = kind_for(delivery.kind)
            _raise_if_held(delivery, kind)
            message = _prepare(delivery, kind)
        except _Held:
            raise  # not a failure: the row waits, no attempt counted
        except Exception as error:  # recorded once the transaction is rolled back
            raise _NotPrepared(delivery, error) from error
    return delivery, kind, message


def _claim(delivery_id: int, now: datetime.datetime) -> Delivery | None:
    """The row as claimed (see _claim_all), or None."""
    return next(iter(_claim_all([delivery_id], now)), None)


CLAIM_SQL = (
    'UPDATE "portal_delivery" SET "status" = %s, "claimed_at" = %s,'
    ' "enqueued_at" = NULL, "held_for" = \'\', "attempts" = "attempts" + 1'
    ' WHERE "id" IN ({ids}) AND "status" = %s AND "next_attempt_at" <= %s RETURNING *'
)


def _raise_if_held(delivery: Delivery, kind: MessageKind) -> None:
    feature = kind.feature_for(delivery)
    if not feature:
        return
    until = closed_until(feature)
    if until is not None:
        raise _Held(feature, until)


def _hold(delivery_id: int, feature: str, until: datetime.datetime) -> None:
    """Keep the row waiting until its feature reopens; its claim was rolled back, so no attempt
    is counted. A row another worker claimed meanwhile is left to it."""
    Delivery.objects.filter(pk=delivery_id, status=Status.PENDING).update(
        next_attempt_at=until, held_for=feature, enqueued_at=None
    )


def closed_until(feature: str) -> datetime.datetime | None:
    """When `feature` reopens, or None when it is open (asks settings.PORTAL_OUTBOX_GATE).

    The gate lives in an app (outages) and portal imports none: the composition root names the
    callable, `feature -> closure with .until, or None`.
    """
    path = getattr(settings, "PORTAL_OUTBOX_GATE", "")
    if not path:
        return None
    closure = import_string(path)(feature)
    return None if closure is None else closure.until


def _prepare(delivery: Delivery, kind: MessageKind) -> EmailMultiAlternatives | str:
    """The context and the rendered message, in the recipient's language."""
    return _render(delivery, kind, _context(delivery, kind))


def _context(delivery: Delivery, kind: MessageKind) -> dict[str, Any]:
    with translation.override(delivery.language):
        return kind.context(delivery)


def _render(
    delivery: Delivery, kind: MessageKind, context: dict[str, Any]
) -> EmailMultiAlternatives | str:
    """The message of `context`, in the recipient's language."""
    with translation.override(delivery.language):
        if kind.channel == Delivery.Channel.SMS:
            return render_text(kind.template_prefix, language=delivery.language, context=context)
        message = render_email(
            kind.template_prefix, to=delivery.address, language=delivery.language, context=context
        )
        if kind.finish_email is not None:
            kind.finish_email(delivery, message, context)
        return message


def _deliver(delivery: Delivery, message: EmailMultiAlternatives | str) -> None:
    if isinstance(message, str):
        send_text(to=delivery.address, body=message)
    else:
        message.send()


def send_text(*, to: str, body: str) -> None:
    """Text `body` to one E.164 number through django-sms (settings.SMS_BACKEND).

    Raises SmsNotSent when the backend sent nothing, or what the provider raises.
    """
    sent = sms.send_sms(body=body, originator=settings.DEFAULT_FROM_SMS, recipients=[to])
    if sent != 1:
        raise SmsNotSent(f"the SMS backend sent {sent} message(s)")


def _mark_sent(delivery: Delivery, kind: MessageKind) -> None:
    """SENT, and the kind's after_send in the same transaction; an after_send that fails still
    leaves the row SENT (the message went), with its error kept for staff. Without an
    after_send, the one UPDATE is its own transaction."""
    now = timezone.now()
    mine = _still_claimed([delivery])
    delivery.status, delivery.sent_at = Status.SENT, now
    if kind.after_send is None:
        mine.update(status=Status.SENT, sent_at=now)
        return
    try:
        with transaction.atomic():
            mine.update(status=Status.SENT, sent_at=now)
            kind.after_send(delivery)
    except Exception as error:
        logger.exception("after_send of delivery %s failed", delivery.pk)
        mine.update(status=Status.SENT, sent_at=now, last_error=_describe(error, ())[:300])


def _mark_all_sent(delivered: list[tuple[Delivery, MessageKind]]) -> None:
    """`_mark_sent` for rows claimed together: one UPDATE for those whose kind has no
    after_send (all claimed at the same moment), each of the others in its own transaction."""
    plain = [delivery for delivery, kind in delivered if kind.after_send is None]
    if plain:
        _still_claimed(plain).update(status=Status.SENT, sent_at=timezone.now())
    for delivery, kind in delivered:
        if kind.after_send is not None:
            _mark_sent(delivery, kind)


def _still_claimed(deliveries: list[Delivery]) -> "QuerySet[Delivery]":
    """The rows, claimed at one moment, while that claim still holds: SENDING, or UNKNOWN once
    the sweeper gave up on them, and not claimed again by another worker since."""
    return Delivery.objects.filter(
        pk__in=[delivery.pk for delivery in deliveries],
        claimed_at=deliveries[0].claimed_at,
        status__in=[Status.SENDING, Status.UNKNOWN],
    )


def _record_failure(delivery: Delivery, error: BaseException, *, secrets: Iterable[str]) -> None:
    _still_claimed([delivery]).update(**_failed_try(delivery, error, secrets))


def _record_unprepared(delivery: Delivery, error: BaseException) -> None:
    """The claim was rolled back with what the context wrote: claim the row again and record the
    failure in one UPDATE, unless another worker tried it since (its attempts moved on; no row
    leaves PENDING without a try counted)."""
    Delivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts - 1).update(
        attempts=delivery.attempts,
        claimed_at=delivery.claimed_at,
        enqueued_at=None,
        held_for="",
        **_failed_try(delivery, error, ()),
    )


def _failed_try(delivery: Delivery, error: BaseException, secrets: Iterable[str]) -> dict[str, Any]:
    """The row's fields after a failed try (logged): FAILED, or PENDING until its retry."""
    now = timezone.now()
    permanent = isinstance(error, PERMANENT_ERRORS + _configured_permanent_errors())
    spent = delivery.attempts >= settings.PORTAL_OUTBOX_MAX_ATTEMPTS
    updates: dict[str, Any] = {"last_error": _describe(error, secrets)}
    if permanent or spent:
        updates["status"] = Status.FAILED
    else:
        updates["status"] = Status.PENDING
        updates["next_attempt_at"] = now + backoff(delivery.attempts)
    logger.warning("delivery %s (%s) failed: %s", delivery.pk, delivery.kind, updates["last_error"])
    return updates


def backoff(tries: int) -> datetime.timedelta:
    """The wait after the `tries`-th failed try: 60 s, 2 min, 4 min, ... at most an hour."""
    return datetime.timedelta(
        seconds=min(BACKOFF_SECONDS * 2 ** max(tries - 1, 0), BACKOFF_MAX_SECONDS)
    )


def _configured_permanent_errors() -> tuple[type[BaseException], ...]:
    """More permanent errors named in settings (an SMS provider's "number refused")."""
    return tuple(import_string(path) for path in settings.PORTAL_OUTBOX_PERMANENT_ERRORS)


def _secrets_of(message: object) -> list[str]:
    """What an error message must never repeat: the message's own text."""
    if isinstance(message, str):
        return [message]
    if isinstance(message, EmailMultiAlternatives):
        return [str(message.body), str(message.subject)]
    return []


def _describe(error: BaseException, secrets: Iterable[str]) -> str:
    """Type and first line of the error, without any part of the message sent."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    for secret in secrets:
        if secret and secret.strip() and secret.strip() in text:
            text = text.replace(secret.strip(), "…")
    return f"{type(error).__name__}: {text}"[:300] if text else type(error).__name__


def sweep(*, at: datetime.datetime | None = None) -> dict[str, int]:
    """Beat job: keep every row moving, one chain per message.

    - SENDING rows claimed longer ago than PORTAL_OUTBOX_SENDING_TIMEOUT become UNKNOWN (never
      resent automatically);
    - rows the gate held whose feature reopened early become due now;
    - PENDING rows that are due, have tries left and were not handed to a worker within
      PORTAL_OUTBOX_REQUEUE_AFTER seconds are enqueued (the broker lost them, or their retry
      is due). FAILED rows and rows with a retry scheduled later are left alone.
    Returns counts by what was done.
    """
    now = at or timezone.now()
    unknown = Delivery.objects.filter(
        status=Status.SENDING,
        claimed_at__lt=now - datetime.timedelta(seconds=settings.PORTAL_OUTBOX_SENDING_TIMEOUT),
    ).update(status=Status.UNKNOWN)
    released = _release_reopened(now)
    return {"unknown": unknown, "released": released, "enqueued": _enqueue_due(now)}


def _release_reopened(now: datetime.datetime) -> int:
    held = Delivery.objects.filter(status=Status.PENDING, next_attempt_at__gt=now).exclude(
        held_for=""
    )
    released = 0
    for feature in held.values_list("held_for", flat=True).distinct().order_by():
        if closed_until(feature) is None:
            released += held.filter(held_for=feature).update(next_attempt_at=now, held_for="")
    return released


def _enqueue_due(now: datetime.datetime) -> int:
    from portal.outbox.queue import publish

    requeue_before = now - datetime.timedelta(seconds=settings.PORTAL_OUTBOX_REQUEUE_AFTER)
    due = Delivery.objects.filter(
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=requeue_before),
        status=Status.PENDING,
        next_attempt_at__lte=now,
        attempts__lt=settings.PORTAL_OUTBOX_MAX_ATTEMPTS,
    )
    taken = [
        delivery_id
        for delivery_id in list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:1000])
        # Stamped first, one by one: a second sweeper running at once skips what this one took.
        if due.filter(pk=delivery_id).update(enqueued_at=now)
    ]
    if taken:
        publish(taken)
    return len(taken)


def send_again(deliveries: Iterable[Delivery]) -> int:
    """Staff's resend of FAILED or UNKNOWN rows: back to PENDING, due now, with a fresh series
    of tries, enqueued after commit. Returns how many were put back."""
    from portal.outbox.queue import enqueue_after_commit

    now = timezone.now()
    count = 0
    with transaction.atomic():
        for delivery in deliveries:
            if Delivery.objects.filter(
                pk=delivery.pk, status__in=[Status.FAILED, Status.UNKNOWN]
            ).update(
                status=Status.PENDING,
                attempts=0,
                next_attempt_at=now,
                enqueued_at=now,
                held_for="",
                claimed_at=None,
            ):
                enqueue_after_commit(delivery.pk)
                count += 1
    return count
