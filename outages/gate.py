"""The one question every view, service, task and template asks: is this capability open?

The answer comes from a snapshot of the windows that have not ended yet, kept in the shared
cache (Redis in production, so every web process sees the same) and dropped whenever staff save
a window or an interruption. In the steady state a request costs one cache read, no query.
"""

import datetime
import functools
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from outages.features import Feature
from outages.models import Interruption, MaintenanceWindow, PostponedTask

SNAPSHOT_KEY = "outages:snapshot:v2"
GENERATION_KEY = "outages:snapshot:generation"
SNAPSHOT_SECONDS = 3600


@dataclass(frozen=True)
class InterruptionSpan:
    pk: int
    window_id: int
    application_en: str
    application_fr: str
    description_en: str
    description_fr: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    features: frozenset[str]
    read_only: bool  # only writing is off; reading stays available

    def covers(self, moment: datetime.datetime) -> bool:
        return self.starts_at <= moment < self.ends_at


@dataclass(frozen=True)
class WindowSummary:
    pk: int
    title_en: str
    title_fr: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime


@dataclass(frozen=True)
class Snapshot:
    spans: tuple[InterruptionSpan, ...]
    windows: tuple[WindowSummary, ...]
    generation: str = ""


@dataclass(frozen=True)
class Closure:
    """Why a capability is closed and until when (the end of the merged interruptions)."""

    feature: Feature
    until: datetime.datetime
    spans: tuple[InterruptionSpan, ...]

    @property
    def read_only(self) -> bool:
        """Only writing is closed: the page can say that reading still works."""
        return all(span.read_only for span in self.spans)

    def retry_after_seconds(self, now: datetime.datetime | None = None) -> int:
        return max(1, int((self.until - (now or timezone.now())).total_seconds()))


class FeatureClosed(Exception):
    """Raised by services when a capability is interrupted for maintenance."""

    def __init__(self, closure: Closure) -> None:
        super().__init__(f"{closure.feature} is closed until {closure.until.isoformat()}")
        self.closure = closure


def snapshot() -> Snapshot:
    """The windows that have not ended, from the shared cache (one round trip) or the database.

    A snapshot is only used when it carries the current generation. A process that read the
    database just before staff committed a change may still write its (old) snapshot after the
    change dropped the key; its generation is then already outdated, so no process uses it and
    the next request rebuilds. Deleting the key alone would leave that stale copy for an hour.
    """
    found = cache.get_many([GENERATION_KEY, SNAPSHOT_KEY])
    generation = found.get(GENERATION_KEY)
    cached = found.get(SNAPSHOT_KEY)
    if generation is None:
        generation = _new_generation_if_missing()
    elif isinstance(cached, Snapshot) and cached.generation == generation:
        return cached
    fresh = _build_snapshot(generation)
    cache.set(SNAPSHOT_KEY, fresh, SNAPSHOT_SECONDS)
    return fresh


def invalidate() -> None:
    """Outdate the snapshot in every process once the staff's change is committed.

    After commit, so no process can rebuild from the rows being changed and keep them; a
    rolled-back change invalidates nothing.
    """
    transaction.on_commit(_bump_generation)


def _bump_generation() -> None:
    cache.set(GENERATION_KEY, uuid.uuid4().hex, None)
    cache.delete(SNAPSHOT_KEY)


def _new_generation_if_missing() -> str:
    # `add` keeps whichever process won: all of them then agree on one generation.
    cache.add(GENERATION_KEY, uuid.uuid4().hex, None)
    return str(cache.get(GENERATION_KEY))


def _build_snapshot(generation: str) -> Snapshot:
    now = timezone.now()
    live_windows = MaintenanceWindow.objects.filter(cancelled_at__isnull=True, ends_at__gt=now)
    interruptions = Interruption.objects.filter(window__in=live_windows, ends_at__gt=now)
    spans = tuple(
        InterruptionSpan(
            pk=i.pk,
            window_id=i.window_id,
            application_en=i.application_en,
            application_fr=i.application_fr,
            description_en=i.description_en,
            description_fr=i.description_fr,
            starts_at=i.starts_at,
            ends_at=i.ends_at,
            features=frozenset(i.features),
            read_only=i.scope == Interruption.Scope.WRITES,
        )
        for i in interruptions
    )
    windows = tuple(
        WindowSummary(
            pk=w.pk,
            title_en=w.title_en,
            title_fr=w.title_fr,
            starts_at=w.starts_at,
            ends_at=w.ends_at,
        )
        for w in live_windows.order_by("starts_at")
    )
    return Snapshot(spans=spans, windows=windows, generation=generation)


def closure_for(
    feature: Feature | str, *, write: bool = True, at: datetime.datetime | None = None
) -> Closure | None:
    """The closure in force for `feature` at `at` (now), or None when it is open.

    Reading (`write=False`) stays open under read-only interruptions. Overlapping interruptions
    of one capability are merged, so `until` is when it really opens again.
    """
    moment = at or timezone.now()
    feature = Feature(feature)
    matching = [
        span
        for span in snapshot().spans
        if feature in span.features and (write or not span.read_only)
    ]
    active = [span for span in matching if span.covers(moment)]
    if not active:
        return None
    return Closure(feature=feature, until=_merged_end(active, matching), spans=tuple(active))


def _merged_end(
    active: Iterable[InterruptionSpan], candidates: list[InterruptionSpan]
) -> datetime.datetime:
    until = max(span.ends_at for span in active)
    extended = True
    while extended:
        extended = False
        for span in candidates:
            if span.starts_at <= until < span.ends_at:
                until, extended = span.ends_at, True
    return until


def is_open(
    feature: Feature | str, *, write: bool = True, at: datetime.datetime | None = None
) -> bool:
    return closure_for(feature, write=write, at=at) is None


def ensure_open(feature: Feature | str, *, write: bool = True) -> None:
    """For services: raise FeatureClosed when the capability is interrupted."""
    closure = closure_for(feature, write=write)
    if closure is not None:
        raise FeatureClosed(closure)


def announced_windows(
    *, within: datetime.timedelta = datetime.timedelta(days=7), at: datetime.datetime | None = None
) -> list[WindowSummary]:
    """Windows under way or starting within `within`: the banner on every page."""
    moment = at or timezone.now()
    return [w for w in snapshot().windows if w.starts_at <= moment + within and w.ends_at > moment]


P = ParamSpec("P")
R = TypeVar("R")


def gated_task(
    feature: Feature, *, write: bool = True, name: str | None = None
) -> Callable[[Callable[P, R]], Callable[P, R | None]]:
    """Put under `@shared_task`: while `feature` is closed the call is kept and re-run later.

    Tasks take keyword arguments only (ids), so the postponed call is stored as JSON. `name` is
    the Celery task name when the task sets one; by default Celery's own (module.function).
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R | None]:
        task_name = name or f"{func.__module__}.{func.__name__}"

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | None:
            closure = closure_for(feature, write=write)
            if closure is not None:
                PostponedTask.objects.create(
                    task_name=task_name,
                    kwargs=dict(kwargs),
                    feature=feature,
                    run_after=closure.until,
                )
                return None
            return func(*args, **kwargs)

        return wrapper

    return decorate


def release_due_postponed_tasks(
    *, send: Callable[..., Any], at: datetime.datetime | None = None
) -> int:
    """Re-enqueue postponed calls that may run now; returns how many went out.

    A call is due at the end it was told, or earlier when its capability opened again because
    staff shortened or cancelled the window. A call released while its capability is still
    closed (the window was extended meanwhile) meets the gate again and waits once more.
    Rows are claimed with SKIP LOCKED so two beat processes never send one twice.
    """
    moment = at or timezone.now()
    reopened = [feature for feature in Feature if is_open(feature, at=moment)]
    released = 0
    with transaction.atomic():
        due = PostponedTask.objects.select_for_update(skip_locked=True).filter(
            Q(run_after__lte=moment) | Q(feature__in=reopened)
        )
        for postponed in due:
            transaction.on_commit(
                functools.partial(send, postponed.task_name, kwargs=postponed.kwargs)
            )
            postponed.delete()
            released += 1
    return released
