"""Queuing a message: the row in the caller's transaction, the task after it commits."""

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import signals
from django.db.models.constants import OnConflict
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
    delivery = Delivery(
        channel=channel,
        kind=kind,
        address=to,
        dedupe_key=dedupe_key,
        enqueued_at=timezone.now(),
        **fields,
    )
    if not _insert_unless_queued(delivery):
        return Delivery.objects.get(dedupe_key=dedupe_key)
    enqueue_after_commit(delivery.pk)
    return delivery


def _insert_unless_queued(delivery: "Delivery") -> bool:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id: True when the row is new (its pk set),
    False when a row with its dedupe_key is there already.

    One statement, and no savepoint: a plain insert refused by the unique key aborts the
    caller's transaction, so it needed one (three round trips per message, a third of a large
    fan-out's queueing). QuerySet._insert is how Model.save inserts; bulk_create, the public
    way to ignore a conflict, cannot tell a new row from a refused one.
    """
    from portal.models import Delivery

    fields = [field for field in Delivery._meta.concrete_fields if not field.primary_key]
    rows = Delivery.objects.all()
    signals.pre_save.send(Delivery, instance=delivery, raw=False, using=rows.db, update_fields=None)
    returned = rows._insert(  # type: ignore[attr-defined]
        [delivery],
        fields=fields,
        returning_fields=[Delivery._meta.pk],
        on_conflict=OnConflict.IGNORE,
    )
    if not returned or returned[0] is None:
        return False
    delivery.pk = returned[0][0]
    delivery._state.adding, delivery._state.db = False, rows.db
    # As Model.save would: whoever listens to Delivery sees the row created.
    signals.post_save.send(
        Delivery, instance=delivery, created=True, raw=False, using=rows.db, update_fields=None
    )
    return True


# Rows one transaction queued together go to workers in tasks of up to this many: one publish
# and one task's overhead per batch, where a large fan-out (a night's notices) paid them per
# message, about a third of its time.
SEND_BATCH = 20


def enqueue_after_commit(delivery_id: int) -> None:
    """Hand the row to a worker once the current transaction commits (at once outside one).

    One robust callback takes every row queued at the same level of the transaction (the
    transaction itself, or one savepoint): later rows join the batch of the callback already
    registered there while it is still registered (a rolled-back savepoint drops it). A named
    function, not functools.partial: Django 5.2's robust on_commit logs a failing callback by
    its `__qualname__`, which a partial lacks, and the resulting AttributeError would escape
    and drop the transaction's other callbacks (Django ticket #36487).
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        publish([delivery_id])
        return
    batches = _batches_of(connection)
    level = tuple(connection.savepoint_ids)
    batch = batches.get(level)
    if batch is not None and batch.still_registered(connection):
        batch.ids.append(delivery_id)
        return
    batches[level] = batch = _Batch([delivery_id], connection)
    transaction.on_commit(batch.callback, robust=True)


def _batches_of(connection: Any) -> "dict[tuple[str, ...], _Batch]":
    """The connection's batches by level of its transaction; forgotten when a transaction has
    no callback yet (those of earlier transactions ran or were dropped)."""
    batches = getattr(connection, _BATCHES, None)
    if batches is None or not connection.run_on_commit:
        batches = {}
        setattr(connection, _BATCHES, batches)
    return batches


_BATCHES = "portal_outbox_batches"


class _Batch:
    """Rows queued at one level of a transaction and their on-commit callback, found again in
    constant time by its place in the connection's list (callbacks are only appended, or
    filtered in order) and the savepoints it was registered under."""

    def __init__(self, ids: list[int], connection: Any) -> None:
        self.ids, self.published = ids, False
        self.index, self.savepoints = len(connection.run_on_commit), list(connection.savepoint_ids)

        def enqueue_deliveries() -> None:
            self.published = True
            publish(self.ids)

        self.callback = enqueue_deliveries

    def still_registered(self, connection: Any) -> bool:
        callbacks = connection.run_on_commit
        return (
            not self.published  # a test's capture runs callbacks the connection still lists
            and self.savepoints == connection.savepoint_ids
            and self.index < len(callbacks)
            and callbacks[self.index][1] is self.callback
        )


def publish(delivery_ids: list[int]) -> None:
    """Enqueue the rows now: one row alone as `send_delivery`, more in `send_deliveries` tasks of
    up to SEND_BATCH rows. A row enqueued twice is still sent once (the claim)."""
    from portal.tasks import send_deliveries, send_delivery

    if len(delivery_ids) == 1:
        send_delivery.delay(delivery_ids[0])
        return
    for start in range(0, len(delivery_ids), SEND_BATCH):
        send_deliveries.delay(delivery_ids[start : start + SEND_BATCH])
