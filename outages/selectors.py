"""Read queries of the maintenance windows: the status pages, the feeds and the notices."""

import datetime
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from outages import audience
from outages.features import EVERYONE_FEATURES
from outages.models import Interruption, MaintenanceNotice, MaintenanceWindow, WindowChange
from portal.models import Delivery

# Calendar apps keep what they once showed; past windows stay in the feeds this long.
FEED_HISTORY = datetime.timedelta(days=90)
# People hear of a window this long before it starts.
NOTICE_AHEAD = datetime.timedelta(days=2)
# A person was told a revision once its e-mail went (UNKNOWN: a worker died sending it, so it
# may have gone; telling again could duplicate it).
TOLD = [Delivery.Status.SENT, Delivery.Status.UNKNOWN]


def _with_details(qs: QuerySet[MaintenanceWindow]) -> QuerySet[MaintenanceWindow]:
    """Interruptions and changes in two queries, whatever the number of windows."""
    return qs.prefetch_related(
        Prefetch("interruptions", queryset=Interruption.objects.order_by("starts_at", "pk")),
        Prefetch("changes", queryset=WindowChange.objects.order_by("revision")),
    )


def window_with_details(window_id: int) -> MaintenanceWindow | None:
    """One window with its interruptions and changes (a notice's e-mail reads them)."""
    return _with_details(MaintenanceWindow.objects.filter(pk=window_id)).first()


def current_and_upcoming_windows(
    *, at: datetime.datetime | None = None
) -> QuerySet[MaintenanceWindow]:
    """Windows not yet over, cancelled ones included so the page can say they were cancelled."""
    moment = at or timezone.now()
    return _with_details(MaintenanceWindow.objects.filter(ends_at__gt=moment)).order_by(
        "starts_at", "pk"
    )


def past_windows(*, at: datetime.datetime | None = None) -> QuerySet[MaintenanceWindow]:
    moment = at or timezone.now()
    return _with_details(MaintenanceWindow.objects.filter(ends_at__lte=moment)).order_by(
        "-starts_at", "-pk"
    )


def feed_windows(*, at: datetime.datetime | None = None) -> QuerySet[MaintenanceWindow]:
    """What the iCalendar and Atom feeds carry: upcoming, current and recently ended windows."""
    moment = at or timezone.now()
    return _with_details(
        MaintenanceWindow.objects.filter(ends_at__gt=moment - FEED_HISTORY)
    ).order_by("starts_at", "pk")


def current_and_upcoming_interruptions(
    *, at: datetime.datetime | None = None
) -> QuerySet[Interruption]:
    """Interruptions not yet over, for scripts; those of cancelled windows say so."""
    moment = at or timezone.now()
    return (
        Interruption.objects.filter(ends_at__gt=moment)
        .select_related("window")
        .order_by("starts_at", "pk")
    )


def window_features(window: MaintenanceWindow) -> frozenset[str]:
    return frozenset(code for i in window.interruptions.all() for code in i.features)


def notifiable_users() -> "QuerySet[Any]":
    """Active people with a verified primary e-mail address: the only ones the portal writes to."""
    verified = EmailAddress.objects.filter(
        user=OuterRef("pk"), verified=True, primary=True, email__iexact=OuterRef("email")
    )
    return get_user_model().objects.filter(Exists(verified), is_active=True).order_by("pk")


def users_touched_by(window: MaintenanceWindow) -> "QuerySet[Any]":
    """The people a window concerns, who get its notices.

    A window that closes a capability everyone uses (sign-in, registration, …) concerns every
    notifiable user; the others concern whom the owning apps' audiences name (outages.audience).
    """
    everyone = notifiable_users()
    features = window_features(window)
    if features & EVERYONE_FEATURES:
        return everyone
    return everyone.filter(audience.concerned(features))


def windows_to_announce(*, at: datetime.datetime | None = None) -> QuerySet[MaintenanceWindow]:
    """Windows owing someone a notice: starting within two days, or changed after a notice."""
    moment = at or timezone.now()
    soon = Q(cancelled_at__isnull=True, starts_at__lte=moment + NOTICE_AHEAD)
    changed_since_told = Exists(
        MaintenanceNotice.objects.filter(
            window=OuterRef("pk"),
            delivery__status__in=TOLD,
            revision__lt=OuterRef("revision"),
        )
    )
    return _with_details(
        MaintenanceWindow.objects.filter(soon | changed_since_told, ends_at__gt=moment)
    ).order_by("starts_at", "pk")


def last_told_revisions(window: MaintenanceWindow) -> dict[int, int]:
    """user id → the latest revision of `window` they were told (its e-mail SENT, or UNKNOWN)."""
    rows = MaintenanceNotice.objects.filter(window=window, delivery__status__in=TOLD).values_list(
        "user_id", "revision"
    )
    told: dict[int, int] = {}
    for user_id, revision in rows:
        told[user_id] = max(revision, told.get(user_id, 0))
    return told
