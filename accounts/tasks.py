"""Thin Celery tasks: they take ids and call accounts.notifications, which sends at most once."""

import datetime
from smtplib import SMTPException

from anymail.exceptions import AnymailAPIError
from celery import Task, shared_task
from django.conf import settings

from accounts import notifications, selectors
from outages.features import Feature
from outages.gate import gated_task, is_open

# Worth retrying: the mail server or the ESP's API did not answer or refused for now.
TRANSIENT_MAIL_ERRORS = (SMTPException, OSError, AnymailAPIError)
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
