"""Queuing a message: the row in the caller's transaction, the task after it commits."""

from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from portal.models import Delivery


def queue_email(
    *,
    kind: str,
    to: str,
    user: "AbstractBaseUser | None" = None,
    language: str,
    account_id: int | None = None,
    facts: dict[str, Any],
    dedupe_key: str,
) -> "Delivery":
    """One e-mail of the registered `kind` to the address `to`; see `queue`."""
    return _queue(
        "email",
        kind=kind,
        to=to,
        user=user,
        language=language,
        account_id=account_id,
        facts=facts,
        dedupe_key=dedupe_key,
    )


def queue_sms(
    *,
    kind: str,
    to: str,
    user: "AbstractBaseUser | None" = None,
    language: str,
    account_id: int | None = None,
    facts: dict[str, Any],
    dedupe_key: str,
) -> "Delivery":
    """One text message of the registered `kind` to the E.164 number `to`; see `queue`."""
    return _queue(
        "sms",
        kind=kind,
        to=to,
        user=user,
        language=language,
        account_id=account_id,
        facts=facts,
        dedupe_key=dedupe_key,
    )


def _queue(channel: str, *, kind: str, to: str, dedupe_key: str, **fields: Any) -> "Delivery":
    """Create the row (or find the one with `dedupe_key`) and enqueue its send after commit.

    Call it inside the caller's transaction. A row already there for `dedupe_key` is returned
    as it is: the same message to the same person for the same reason goes once. The enqueue
    runs after commit and is robust: with the broker down the caller's change still stands and
    the sweeper hands the row to a worker later. Raises UnknownKind, or ValueError when `kind`
    is registered for the other channel.
    """
    from portal.models import Delivery
    from portal.outbox.kinds import kind_for

    registered = kind_for(kind)
    if registered.channel != channel:
        raise ValueError(f"message kind {kind!r} is sent by {registered.channel}, not {channel}")
    # No read first: a new row is the common case, and the unique key finds an existing one.
    try:
        with transaction.atomic():  # a savepoint: the refused insert leaves the caller's usable
            delivery = Delivery.objects.create(
                channel=channel,
                kind=kind,
                address=to,
                dedupe_key=dedupe_key,
                enqueued_at=timezone.now(),
                **fields,
            )
    except IntegrityError:
        return Delivery.objects.get(dedupe_key=dedupe_key)
    enqueue_after_commit(delivery.pk)
    return delivery


def enqueue_after_commit(delivery_id: int) -> None:
    """Hand the row to a worker once the current transaction commits.

    A named function, not functools.partial: Django 5.2's robust on_commit logs a failing
    callback by its `__qualname__`, which a partial lacks, and the resulting AttributeError
    would escape and drop the transaction's other callbacks (Django ticket #36487).
    """

    def enqueue_delivery() -> None:
        from portal.tasks import send_delivery

        send_delivery.delay(delivery_id)

    transaction.on_commit(enqueue_delivery, robust=True)
