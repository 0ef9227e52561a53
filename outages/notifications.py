"""E-mail notices of maintenance windows: two days ahead, and again when staff change one.

Each (window, user, revision) has one MaintenanceNotice delivery row. A row is claimed under a
row lock and marked sent in the same transaction as the send, so a re-run or a retried task
never sends it twice; a failed row is tried again by the next runs, up to MAX_ATTEMPTS
(an address that bounces forever must not be retried every quarter hour for ever).
"""

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from outages import selectors
from outages.models import MaintenanceNotice, MaintenanceWindow, WindowChange, change_kind

if TYPE_CHECKING:
    import datetime

    from accounts.models import User

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
Kind = MaintenanceNotice.Kind


@dataclass(frozen=True)
class Change:
    """What a person was told (old) against what is true now (new)."""

    old_starts_at: "datetime.datetime"
    old_ends_at: "datetime.datetime"
    new_starts_at: "datetime.datetime"
    new_ends_at: "datetime.datetime"
    cancelled: bool

    @property
    def kind(self) -> WindowChange.Kind:
        return change_kind(
            old=(self.old_starts_at, self.old_ends_at),
            new=(self.new_starts_at, self.new_ends_at),
            cancelled=self.cancelled,
        )


def send_due_notices(*, at: "datetime.datetime | None" = None) -> int:
    """Send every notice owed now; returns how many e-mails went out."""
    moment = at or timezone.now()
    sent = 0
    for window in selectors.windows_to_announce(at=moment):
        sent += _announce(window, soon=_starts_soon(window, moment))
    return sent


def _starts_soon(window: MaintenanceWindow, moment: "datetime.datetime") -> bool:
    return window.cancelled_at is None and window.starts_at <= moment + selectors.NOTICE_AHEAD


def _announce(window: MaintenanceWindow, *, soon: bool) -> int:
    """First notices (only when it starts soon) and change notices to those told before."""
    told = selectors.last_told_revisions(window)
    outdated = [pk for pk, revision in told.items() if revision < window.revision]
    recipients = selectors.notifiable_users().filter(pk__in=outdated)
    if soon:
        untold = selectors.users_touched_by(window).exclude(pk__in=list(told))
        recipients = recipients | untold
    sent = 0
    for user in recipients.distinct():
        kind = Kind.CHANGE if user.pk in told else Kind.NOTICE
        sent += _deliver(window, user, kind=kind, told_revision=told.get(user.pk, 0))
    return sent


def _deliver(window: MaintenanceWindow, user: "User", *, kind: str, told_revision: int) -> bool:
    notice, _ = MaintenanceNotice.objects.get_or_create(
        window=window, user=user, revision=window.revision, defaults={"kind": kind}
    )
    if notice.status == MaintenanceNotice.Status.SENT or notice.attempts >= MAX_ATTEMPTS:
        return False
    with transaction.atomic():
        claimed = (
            MaintenanceNotice.objects.select_for_update(skip_locked=True)
            .filter(pk=notice.pk, attempts__lt=MAX_ATTEMPTS)
            .exclude(status=MaintenanceNotice.Status.SENT)
            .first()
        )
        if claimed is None:  # sent meanwhile, or another worker holds it right now
            return False
        return _send_claimed(claimed, window, user, told_revision=told_revision)


def _send_claimed(
    notice: MaintenanceNotice, window: MaintenanceWindow, user: "User", *, told_revision: int
) -> bool:
    notice.attempts += 1
    try:
        build_message(window, user, kind=notice.kind, told_revision=told_revision).send()
    except Exception as error:  # any failure of the mail provider: keep the row for the next run
        logger.warning("Maintenance notice %s to user %s failed: %s", notice.pk, user.pk, error)
        notice.status, notice.error = MaintenanceNotice.Status.FAILED, str(error)[:300]
        notice.save(update_fields=["status", "error", "attempts"])
        return False
    notice.status, notice.error = MaintenanceNotice.Status.SENT, ""
    notice.sent_at = timezone.now()
    notice.save(update_fields=["status", "error", "sent_at", "attempts"])
    return True


def build_message(
    window: MaintenanceWindow, user: "User", *, kind: str, told_revision: int = 0
) -> EmailMultiAlternatives:
    """The e-mail in the user's language, plain text and HTML, every time with its zone."""
    with translation.override(user.language or settings.LANGUAGE_CODE):
        context = _context(window, user, kind=kind, told_revision=told_revision)
        name = "change" if kind == Kind.CHANGE else "notice"
        subject = render_to_string(f"outages/email/{name}_subject.txt", context)
        text = render_to_string(f"outages/email/{name}.txt", context)
        html = render_to_string(f"outages/email/{name}.html", context)
    message = EmailMultiAlternatives(" ".join(subject.split()), text, to=[user.email])
    message.attach_alternative(html, "text/html")
    return message


def _context(
    window: MaintenanceWindow, user: "User", *, kind: str, told_revision: int
) -> dict[str, Any]:
    return {
        "window": window,
        "user": user,
        "interruptions": list(window.interruptions.all()),
        "change": change_since(window, told_revision) if kind == Kind.CHANGE else None,
        "status_url": absolute_url(reverse("outages:status")),
    }


def change_since(window: MaintenanceWindow, told_revision: int) -> Change | None:
    """From the schedule the person was told at `told_revision` to the current one."""
    changes = [c for c in window.changes.all() if c.revision > told_revision]
    if not changes:
        return None
    first = min(changes, key=lambda change: change.revision)
    last = max(changes, key=lambda change: change.revision)
    return Change(
        old_starts_at=first.old_starts_at,
        old_ends_at=first.old_ends_at,
        new_starts_at=last.new_starts_at,
        new_ends_at=last.new_ends_at,
        cancelled=window.cancelled_at is not None,
    )


def absolute_url(path: str) -> str:
    """Links in e-mails have no request to build from: the portal's public address."""
    base = getattr(settings, "PORTAL_BASE_URL", "") or "http://127.0.0.1:8000"
    return base.rstrip("/") + path
