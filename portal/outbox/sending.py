"""Sending one delivery, CLAIM → SEND → MARK, and the sweeper that keeps every row moving.

The promise: at most one message per row, never a silent duplicate and never a silent loss.
- CLAIM: a conditional UPDATE (PENDING and due → SENDING, `claimed_at`, one attempt counted),
  committed on its own. Only one worker can win it, so a redelivered or duplicate task sends
  nothing.
- SEND: the kind's context is built in its own transaction (committed before sending, so what
  it saved — a temporary password's hash — is the state the message speaks of), the message is
  rendered in the recipient's language and handed to the provider.
- MARK: SENDING → SENT.
A worker killed between claim and mark leaves the row SENDING; the sweeper turns it UNKNOWN
after PORTAL_OUTBOX_SENDING_TIMEOUT and staff see it (the provider may or may not have taken
it). An UNKNOWN row is never resent automatically; staff's "Send again" resends it.

Errors: every failed try is an attempt, recorded by type and a short message (never the
message itself). Permanent errors (a refused recipient or address, `Undeliverable`) fail the
row at once; others put it back to PENDING with `next_attempt_at` = now + 60 s x 2^(tries-1),
at most an hour, until PORTAL_OUTBOX_MAX_ATTEMPTS tries, then FAILED. The task never schedules
its own retry: the sweeper enqueues rows that are due, so each message has one chain.

The gate: while the kind's feature is closed the row waits (PENDING, `held_for` = the feature,
`next_attempt_at` = the closure's end) without an attempt counted; the sweeper makes it due
again as soon as the feature reopens.
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
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.module_loading import import_string

from portal.models import Delivery
from portal.outbox.kinds import MessageKind, Undeliverable, UnknownKind, kind_for
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

    False when there was nothing to do (sent, failed, claimed by another worker, not due yet)
    or the gate held it. Provider and template errors are recorded on the row, not raised.
    Database errors before the claim are raised (the task retries them).
    """
    delivery = Delivery.objects.filter(pk=delivery_id).first()
    now = timezone.now()
    if delivery is None or delivery.status != Status.PENDING or delivery.next_attempt_at > now:
        return False
    try:
        kind: MessageKind | None = kind_for(delivery.kind)
    except UnknownKind:
        kind = None
    if kind is not None and _held_by_gate(delivery, kind):
        return False
    if not _claim(delivery, now):
        return False
    message: EmailMultiAlternatives | str | None = None
    try:
        if kind is None:
            raise UnknownKind(delivery.kind)
        message = _prepare(delivery, kind)
        _deliver(delivery, message)
    except Exception as error:  # every failure is recorded: none goes unseen
        _record_failure(delivery, error, secrets=_secrets_of(message))
        return False
    _mark_sent(delivery, kind)
    return True


def _held_by_gate(delivery: Delivery, kind: MessageKind) -> bool:
    """Keep the row waiting while its feature is closed; no attempt is counted."""
    feature = kind.feature_for(delivery)
    until = closed_until(feature) if feature else None
    if until is None:
        return False
    Delivery.objects.filter(pk=delivery.pk, status=Status.PENDING).update(
        next_attempt_at=until, held_for=feature, enqueued_at=None
    )
    return True


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


def _claim(delivery: Delivery, now: datetime.datetime) -> bool:
    with transaction.atomic():
        won = Delivery.objects.filter(
            pk=delivery.pk, status=Status.PENDING, next_attempt_at__lte=now
        ).update(
            status=Status.SENDING,
            claimed_at=now,
            enqueued_at=None,
            held_for="",
            attempts=F("attempts") + 1,
        )
    if won:
        delivery.status, delivery.claimed_at = Status.SENDING, now
        delivery.attempts += 1
        delivery.enqueued_at, delivery.held_for = None, ""
    return bool(won)


def _prepare(delivery: Delivery, kind: MessageKind) -> EmailMultiAlternatives | str:
    """The context (committed on its own) and the rendered message, in the recipient's language."""
    with translation.override(delivery.language):
        with transaction.atomic():
            context = kind.context(delivery)
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
    leaves the row SENT (the message went), with its error kept for staff."""
    now = timezone.now()
    mine = Delivery.objects.filter(
        pk=delivery.pk, claimed_at=delivery.claimed_at, status__in=[Status.SENDING, Status.UNKNOWN]
    )
    delivery.status, delivery.sent_at = Status.SENT, now
    try:
        with transaction.atomic():
            mine.update(status=Status.SENT, sent_at=now)
            if kind.after_send is not None:
                kind.after_send(delivery)
    except Exception as error:
        logger.exception("after_send of delivery %s failed", delivery.pk)
        mine.update(status=Status.SENT, sent_at=now, last_error=_describe(error, ())[:300])


def _record_failure(delivery: Delivery, error: BaseException, *, secrets: Iterable[str]) -> None:
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
    Delivery.objects.filter(
        pk=delivery.pk, claimed_at=delivery.claimed_at, status__in=[Status.SENDING, Status.UNKNOWN]
    ).update(**updates)


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
    from portal.tasks import send_delivery

    requeue_before = now - datetime.timedelta(seconds=settings.PORTAL_OUTBOX_REQUEUE_AFTER)
    due = Delivery.objects.filter(
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=requeue_before),
        status=Status.PENDING,
        next_attempt_at__lte=now,
        attempts__lt=settings.PORTAL_OUTBOX_MAX_ATTEMPTS,
    )
    enqueued = 0
    for delivery_id in list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:1000]):
        # Stamped first, one by one: a second sweeper running at once skips what this one took.
        if due.filter(pk=delivery_id).update(enqueued_at=now):
            send_delivery.delay(delivery_id)
            enqueued += 1
    return enqueued


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
