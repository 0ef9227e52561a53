import time
from smtplib import SMTPException

from celery import Task, shared_task
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import InterfaceError, OperationalError, close_old_connections
from django.utils import timezone


@shared_task
def heartbeat() -> str:
    """Record that a worker ran a beat job; operators read it in the cache."""
    stamp = timezone.now().isoformat()
    cache.set("portal:heartbeat", stamp, timeout=3600)
    return stamp


@shared_task(autoretry_for=(SMTPException, ConnectionError), retry_backoff=True, max_retries=5)
def send_email(*, subject: str, body: str, to: list[str], html: str = "") -> None:
    """Deliver an e-mail already rendered in the sender's request.

    Nothing enqueues it any more (allauth's messages go through the outbox, portal.adapters):
    it stays for one release so messages already on the broker at the upgrade still go out.
    """
    message = EmailMultiAlternatives(subject=subject, body=body, to=to)
    if html:
        message.attach_alternative(html, "text/html")
    message.send()


# A database restart breaks each worker child's kept connection: its first task then meets an
# OperationalError before claiming anything, and is retried on a fresh connection.
DATABASE_ERRORS = (OperationalError, InterfaceError)
# The outbox's tasks: a database error retries the task (the claim keeps a row from going twice).
outbox_task = shared_task(
    bind=True,
    autoretry_for=DATABASE_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=False,
    max_retries=8,
)


@outbox_task
def send_delivery(self: Task, delivery_id: int) -> bool:
    """Send one outbox row, at most once (portal.outbox.sending.send). True when sent now.

    Provider errors are recorded on the row and retried by the sweeper, never here: one chain
    of tries per message.
    """
    from portal.outbox import sending

    if not self.request.is_eager:
        close_old_connections()  # drop a connection the database restart broke
    return sending.send(delivery_id)


# A batch stops taking new rows after this long and hands the rest to a task of their own, so a
# slow provider never brings a batch near CELERY_TASK_SOFT_TIME_LIMIT.
BATCH_SECONDS = 20.0
# Rows claimed, committed and marked sent together (portal.outbox.sending.send_together): a
# commit and three statements per group instead of per message, and a worker killed mid-group
# leaves at most this many rows UNKNOWN for staff to send again.
CLAIM_TOGETHER = 10


@outbox_task
def send_deliveries(self: Task, delivery_ids: list[int]) -> int:
    """Send the outbox rows one transaction queued together, in order, CLAIM_TOGETHER at a time
    (see send_delivery). Returns how many were sent now. A database error retries the batch:
    the rows already sent are not claimed again."""
    from portal.outbox import queue, sending

    if not self.request.is_eager:
        close_old_connections()
    started, sent = time.monotonic(), 0
    for position in range(0, len(delivery_ids), CLAIM_TOGETHER):
        if position and time.monotonic() - started > BATCH_SECONDS:  # one group at least
            queue.publish(delivery_ids[position:])
            break
        sent += sending.send_together(delivery_ids[position : position + CLAIM_TOGETHER])
    return sent


@shared_task(bind=True, autoretry_for=DATABASE_ERRORS, max_retries=3, retry_backoff=True)
def sweep_outbox(self: Task) -> dict[str, int]:
    """Beat job (every minute): enqueue due rows, release rows the gate held, mark UNKNOWN."""
    from portal.outbox import sending

    if not self.request.is_eager:
        close_old_connections()
    return sending.sweep()
