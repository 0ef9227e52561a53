"""Thin Celery tasks: they take ids and call accounts.notifications, which sends at most once."""

import datetime
from smtplib import SMTPException

from anymail.exceptions import AnymailAPIError
from celery import Task, shared_task
from django.conf import settings

from accounts import notifications, outbox, selectors
from accounts.models import EmailDelivery, SmsDelivery
from accounts.sms import SmsNotSent
from outages.features import Feature
from outages.gate import gated_task, is_open

# Worth retrying: the mail server or the ESP's API did not answer or refused for now.
TRANSIENT_MAIL_ERRORS = (SMTPException, OSError, AnymailAPIError)
# Each SMS provider's client raises its own errors, so any failure is retried, then recorded
# (by its type only: a provider's message could quote the text, which holds the password).
TRANSIENT_SMS_ERRORS = (SmsNotSent, Exception)
MAX_RETRIES = 5


@shared_task(bind=True, max_retries=MAX_RETRIES)
@gated_task(Feature.ACCOUNT_LINKING)
def send_link_notice(self: Task, *, notice_id: int) -> bool:
    """E-mail one contact about a new link; the delivery row makes a second run a no-op."""
    try:
        return notifications.send_link_notice(notice_id=notice_id)
    except TRANSIENT_MAIL_ERRORS as error:
        final = self.request.retries >= MAX_RETRIES
        notifications.record_notice_failure(notice_id=notice_id, error=error, final=final)
        if final:
            raise
        raise self.retry(exc=error, countdown=_backoff(self.request.retries)) from error


@shared_task(bind=True, max_retries=MAX_RETRIES)
@gated_task(Feature.LINK_REMOVAL)
def send_link_removed_email(self: Task, *, link_id: int) -> bool:
    """Tell a user that a contact or staff removed their link (once)."""
    try:
        return notifications.send_link_removed(link_id=link_id)
    except TRANSIENT_MAIL_ERRORS as error:
        if self.request.retries >= MAX_RETRIES:
            raise
        raise self.retry(exc=error, countdown=_backoff(self.request.retries)) from error


@shared_task(bind=True, max_retries=MAX_RETRIES)
@gated_task(Feature.DELEGATED_USERS)
def send_email_delivery(self: Task, *, delivery_id: int) -> bool:
    """One delegated-users e-mail (new user, rights changed, request to validate, ...), once."""
    try:
        return outbox.send_email_delivery(delivery_id=delivery_id)
    except TRANSIENT_MAIL_ERRORS as error:
        _retry_or_fail(self, EmailDelivery, delivery_id, error)
        raise


@shared_task(bind=True, max_retries=MAX_RETRIES)
@gated_task(Feature.DELEGATED_USERS)
def send_sms_delivery(self: Task, *, delivery_id: int) -> bool:
    """A new user's temporary password by SMS, once; made and hashed when it is sent."""
    try:
        return outbox.send_sms_delivery(delivery_id=delivery_id)
    except TRANSIENT_SMS_ERRORS as error:
        _retry_or_fail(self, SmsDelivery, delivery_id, error)
        raise


def _retry_or_fail(
    task: Task,
    model: type[EmailDelivery] | type[SmsDelivery],
    delivery_id: int,
    error: Exception,
) -> None:
    """Record the failure; retry with backoff, or leave the row FAILED after the last try."""
    final = task.request.retries >= MAX_RETRIES
    outbox.record_failure(model, delivery_id=delivery_id, error=error, final=final)
    if not final:
        raise task.retry(exc=error, countdown=_backoff(task.request.retries)) from error


@shared_task
def requeue_lost_deliveries() -> int:
    """Beat job: re-enqueue delegated-users e-mails and texts still pending after a while.

    Their task was lost (broker down at commit); sending is idempotent, so a slow one re-queued
    costs nothing. Skipped while delegated users are under maintenance: the gate postponed them.
    """
    if not is_open(Feature.DELEGATED_USERS):
        return 0
    after = datetime.timedelta(seconds=settings.PORTAL_LINK_EMAIL_REQUEUE_AFTER)
    emails, texts = selectors.stale_pending_deliveries(older_than=after)
    for delivery_id in emails:
        send_email_delivery.delay(delivery_id=delivery_id)
    for delivery_id in texts:
        send_sms_delivery.delay(delivery_id=delivery_id)
    return len(emails) + len(texts)


@shared_task
def requeue_lost_link_emails() -> int:
    """Beat job: re-enqueue the e-mails still unsent a few minutes after their commit.

    Their task was lost (the broker was down when the link was made); sending is idempotent,
    so re-queuing one that is merely slow costs nothing. A capability under maintenance is
    skipped: the gate has already postponed its tasks.
    """
    after = datetime.timedelta(seconds=settings.PORTAL_LINK_EMAIL_REQUEUE_AFTER)
    requeued = 0
    if is_open(Feature.ACCOUNT_LINKING):
        for notice_id in selectors.stale_pending_notices(older_than=after):
            send_link_notice.delay(notice_id=notice_id)
            requeued += 1
    if is_open(Feature.LINK_REMOVAL):
        for link_id in selectors.removed_links_to_tell(older_than=after):
            send_link_removed_email.delay(link_id=link_id)
            requeued += 1
    return requeued


def _backoff(retries: int) -> int:
    return min(60 * 2**retries, 3600)
