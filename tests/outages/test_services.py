"""Moves, extensions and cancellations: one revision and one WindowChange each."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from outages import services
from outages.models import WindowChange
from outages.services import Span, follow_window
from tests.outages.factories import HOUR, InterruptionFactory, MaintenanceWindowFactory

pytestmark = pytest.mark.django_db
T0 = datetime.datetime(2027, 6, 25, 20, tzinfo=datetime.UTC)
OLD = Span(T0, T0 + 10 * HOUR)


@pytest.mark.parametrize(
    ("new", "interruption", "expected"),
    [
        # moved as a whole: everything shifts
        (Span(T0 + HOUR, T0 + 11 * HOUR), Span(T0 + 2 * HOUR, T0 + 3 * HOUR), (3, 4)),
        # extended: what lasted until the end still does
        (Span(T0, T0 + 12 * HOUR), Span(T0 + 2 * HOUR, T0 + 10 * HOUR), (2, 12)),
        # extended: what ended earlier stays
        (Span(T0, T0 + 12 * HOUR), Span(T0 + 2 * HOUR, T0 + 3 * HOUR), (2, 3)),
        # started earlier: what began with the window begins with it
        (Span(T0 - HOUR, T0 + 10 * HOUR), Span(T0, T0 + 3 * HOUR), (-1, 3)),
    ],
)
def test_follow_window(new, interruption, expected):
    moved = follow_window(interruption, old=OLD, new=new)

    assert ((moved.starts_at - T0) / HOUR, (moved.ends_at - T0) / HOUR) == expected


def test_reschedule_bumps_the_revision_and_records_old_and_new(staff_user):
    window = MaintenanceWindowFactory.create()
    old = (window.starts_at, window.ends_at)

    services.reschedule_window(
        window=window, starts_at=old[0] + HOUR, ends_at=old[1] + 2 * HOUR, actor=staff_user
    )

    assert window.revision == 2
    change = WindowChange.objects.get()
    assert (change.old_starts_at, change.old_ends_at) == old
    assert (change.new_starts_at, change.new_ends_at) == (old[0] + HOUR, old[1] + 2 * HOUR)
    assert (change.revision, change.changed_by, change.kind) == (2, staff_user, "moved")


def test_the_same_times_change_nothing():
    window = MaintenanceWindowFactory.create()

    services.reschedule_window(
        window=window, starts_at=window.starts_at, ends_at=window.ends_at, actor=None
    )

    assert window.revision == 1
    assert not WindowChange.objects.exists()


def test_the_end_must_come_after_the_start():
    window = MaintenanceWindowFactory.create()

    with pytest.raises(ValidationError, match=r"The end must come after the start\."):
        services.reschedule_window(
            window=window, starts_at=window.ends_at, ends_at=window.starts_at, actor=None
        )


def test_shortening_below_an_interruption_is_refused_and_changes_nothing():
    window = MaintenanceWindowFactory.create()
    InterruptionFactory.create(window=window, ends_at=window.starts_at + 3 * HOUR)

    with pytest.raises(ValidationError, match="Registration: an interruption must fit"):
        services.reschedule_window(
            window=window, starts_at=window.starts_at, ends_at=window.starts_at + HOUR, actor=None
        )

    window.refresh_from_db()
    assert window.revision == 1


def test_cancel_once_then_no_more_moves():
    window = MaintenanceWindowFactory.create()

    services.cancel_window(window=window, actor=None)
    services.cancel_window(window=window, actor=None)

    assert window.cancelled_at is not None
    assert window.revision == 2
    assert WindowChange.objects.get().kind == WindowChange.Kind.CANCELLED
    assert window.state == window.State.CANCELLED
    with pytest.raises(ValidationError, match="cancelled window cannot be moved"):
        services.reschedule_window(
            window=window, starts_at=timezone.now(), ends_at=timezone.now() + HOUR, actor=None
        )
