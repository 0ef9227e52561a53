"""Staff changes to a maintenance window's schedule: every move, extension and cancellation.

Each one bumps the window's `revision` and writes a WindowChange (old → new) in the same
transaction, so the notices job can tell the people already notified exactly what changed.
"""

import datetime
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from outages import gate
from outages.models import Interruption, MaintenanceWindow, WindowChange
from portal.formatting import format_moment

# The AUTH_USER_MODEL: outages names no app's model, so it types users loosely.
User = Any


@dataclass(frozen=True)
class Span:
    starts_at: datetime.datetime
    ends_at: datetime.datetime


def follow_window(interruption: Span, *, old: Span, new: Span) -> Span:
    """Where an interruption goes when its window's schedule changes.

    When the whole window moves (same length), the interruption moves with it. Otherwise only
    the edges that sat on the window's edges follow them: extending a window extends the
    interruptions that lasted until its end, and leaves the others where staff put them.
    """
    if new.starts_at - old.starts_at == new.ends_at - old.ends_at:
        delta = new.starts_at - old.starts_at
        return Span(interruption.starts_at + delta, interruption.ends_at + delta)
    starts_at = new.starts_at if interruption.starts_at == old.starts_at else interruption.starts_at
    ends_at = new.ends_at if interruption.ends_at == old.ends_at else interruption.ends_at
    return Span(starts_at, ends_at)


def validate_schedule(*, starts_at: datetime.datetime, ends_at: datetime.datetime) -> None:
    """Raises ValidationError unless the end comes after the start."""
    if ends_at <= starts_at:
        raise ValidationError(_("The end must come after the start."), code="ends_before_start")


def validate_inside(*, interruption: Span, window: Span, application: str) -> None:
    """Raises ValidationError, naming the application, unless it fits inside its window."""
    if interruption.ends_at <= interruption.starts_at:
        raise ValidationError(
            _("%(application)s: the end must come after the start."),
            code="ends_before_start",
            params={"application": application},
        )
    if interruption.starts_at < window.starts_at or interruption.ends_at > window.ends_at:
        raise ValidationError(
            _(
                "%(application)s: an interruption must fit inside its window "
                "(%(start)s to %(end)s)."
            ),
            code="outside_window",
            params={
                "application": application,
                "start": format_moment(window.starts_at),
                "end": format_moment(window.ends_at),
            },
        )


def reschedule_window(
    *,
    window: MaintenanceWindow,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    actor: "User | None",
    keep: Collection[int] = (),
) -> MaintenanceWindow:
    """Move, extend or shorten `window`; its interruptions follow (see `follow_window`).

    `keep` names interruptions staff have just placed themselves (the admin saves them first):
    they stay where they are. Returns the window as saved (unchanged, with no new revision,
    when the times are the same). Raises ValidationError for a cancelled window, an end before
    the start, or an interruption that would fall outside the new window.
    """
    validate_schedule(starts_at=starts_at, ends_at=ends_at)
    with transaction.atomic():
        locked = MaintenanceWindow.objects.select_for_update().get(pk=window.pk)
        if locked.cancelled_at is not None:
            raise ValidationError(_("A cancelled window cannot be moved."), code="cancelled")
        old, new = Span(locked.starts_at, locked.ends_at), Span(starts_at, ends_at)
        if old == new:
            return _copy_schedule(locked, onto=window)
        _move_interruptions(locked, old=old, new=new, keep=frozenset(keep))
        _record_change(locked, new=new, cancelled=False, actor=actor)
    return _copy_schedule(locked, onto=window)


def cancel_window(*, window: MaintenanceWindow, actor: "User | None") -> MaintenanceWindow:
    """Cancel `window`: every capability it closed opens again. Cancelling twice changes nothing.

    Returns the window as saved.
    """
    with transaction.atomic():
        locked = MaintenanceWindow.objects.select_for_update().get(pk=window.pk)
        if locked.cancelled_at is None:
            locked.cancelled_at = timezone.now()
            span = Span(locked.starts_at, locked.ends_at)
            _record_change(locked, new=span, cancelled=True, actor=actor)
    return _copy_schedule(locked, onto=window)


def _move_interruptions(
    window: MaintenanceWindow, *, old: Span, new: Span, keep: frozenset[int]
) -> None:
    interruptions = list(window.interruptions.select_for_update())
    for interruption in interruptions:
        moved = Span(interruption.starts_at, interruption.ends_at)
        if interruption.pk not in keep:
            moved = follow_window(moved, old=old, new=new)
        validate_inside(interruption=moved, window=new, application=interruption.application_en)
        interruption.starts_at, interruption.ends_at = moved.starts_at, moved.ends_at
    Interruption.objects.bulk_update(interruptions, ["starts_at", "ends_at"])


def _record_change(
    window: MaintenanceWindow, *, new: Span, cancelled: bool, actor: "User | None"
) -> None:
    WindowChange.objects.create(
        window=window,
        revision=window.revision + 1,
        old_starts_at=window.starts_at,
        old_ends_at=window.ends_at,
        new_starts_at=new.starts_at,
        new_ends_at=new.ends_at,
        cancelled=cancelled,
        changed_by=actor,
    )
    window.starts_at, window.ends_at = new.starts_at, new.ends_at
    window.revision += 1
    window.save(update_fields=["starts_at", "ends_at", "cancelled_at", "revision", "updated_at"])
    # bulk_update sends no signal, so the gate is told here (after commit, like the signal).
    gate.invalidate()


def _copy_schedule(saved: MaintenanceWindow, *, onto: MaintenanceWindow) -> MaintenanceWindow:
    """Keep the caller's instance (e.g. the admin's) in step with what was saved."""
    for field in ("starts_at", "ends_at", "cancelled_at", "revision", "updated_at"):
        setattr(onto, field, getattr(saved, field))
    return onto
