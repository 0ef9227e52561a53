"""E-mail notices of maintenance windows: two days ahead, and again when staff change one.

The beat job decides who is owed what and queues it in the portal's outbox (portal.outbox); the
outbox sends each message once, retries it and keeps its state for staff. Each (window, user,
revision) has one MaintenanceNotice, the record of what the person was told, and one delivery
(dedupe key "outages.notice:<window>:<user>:<revision>"):
- "outages.notice": the first notice, when a window starts within two days;
- "outages.change": to people told an earlier revision, with what changed since.
A person counts as told once their delivery is SENT (or UNKNOWN: it may have gone). A notice
rendered after its window changed again is not sent (the next run tells the new revision), so
nobody reads a schedule that is already out of date.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from outages import selectors
from outages.models import MaintenanceNotice, MaintenanceWindow, WindowChange, change_kind
from portal.models import Delivery
from portal.outbox import MessageKind, Undeliverable, absolute_url, queue_email, register_kind

if TYPE_CHECKING:
    import datetime

Kind = MaintenanceNotice.Kind
NOTICE = "outages.notice"
CHANGE = "outages.change"


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


def queue_due_notices(*, at: "datetime.datetime | None" = None) -> int:
    """Queue every notice owed now; returns how many were queued (each goes once)."""
    moment = at or timezone.now()
    queued = 0
    for window in selectors.windows_to_announce(at=moment):
        queued += _announce(window, soon=_starts_soon(window, moment))
    return queued


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
    queued = 0
    for user in recipients.distinct():
        kind = Kind.CHANGE if user.pk in told else Kind.NOTICE
        queued += _queue(window, user, kind=kind, told_revision=told.get(user.pk, 0))
    return queued


def _queue(window: MaintenanceWindow, user: Any, *, kind: str, told_revision: int) -> bool:
    """One notice of the window's current revision to `user`; False when it exists already."""
    if MaintenanceNotice.objects.filter(
        window=window, user=user, revision=window.revision
    ).exists():
        return False
    try:
        with transaction.atomic():
            delivery = queue_email(
                kind=f"outages.{kind}",
                to=user.email,
                user=user,
                language=user.language or settings.LANGUAGE_CODE,
                facts={
                    "window_id": window.pk,
                    "revision": window.revision,
                    "told_revision": told_revision,
                },
                dedupe_key=f"outages.notice:{window.pk}:{user.pk}:{window.revision}",
            )
            MaintenanceNotice.objects.create(
                window=window, user=user, revision=window.revision, kind=kind, delivery=delivery
            )
    except IntegrityError:  # a run in parallel queued it first
        return False
    return True


def notice_context(delivery: Delivery) -> dict[str, Any]:
    """The e-mail of a notice or a change notice (the outbox runs it in the recipient's language).

    Raises Undeliverable when the window or the person is gone, or the window changed again
    since the notice was queued (the next run tells the new revision instead).
    """
    facts = delivery.facts
    window = selectors.window_with_details(facts.get("window_id"))
    user = delivery.user
    if window is None or user is None:
        raise Undeliverable("The window or the person no longer exists.")
    if window.revision != facts.get("revision"):
        raise Undeliverable(f"Superseded by revision {window.revision} of the window.")
    change = change_since(window, facts.get("told_revision", 0))
    return {
        "window": window,
        "user": user,
        "interruptions": list(window.interruptions.all()),
        "change": change if delivery.kind == CHANGE else None,
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


def register() -> None:
    """From OutagesConfig.ready(): the two notices join the outbox's kinds. No gate feature:
    they tell of maintenance, so no maintenance holds them back."""
    for name, template in ((NOTICE, "notice"), (CHANGE, "change")):
        register_kind(
            MessageKind(
                name=name,
                channel=Delivery.Channel.EMAIL,
                template_prefix=f"outages/email/{template}",
                context=notice_context,
            )
        )
