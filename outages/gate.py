"""The one question every view, service, task and template asks: is this capability open?

The answer comes from a snapshot of the windows that have not ended yet. Where it is read,
cheapest first:

1. the request's own: every check of one request (middleware, view, services, the banner, the
   buttons) reads the snapshot the first check read (`one_snapshot_per_request`, set by
   `outages.middleware.GateSnapshotPerRequestMiddleware`), so a page agrees with itself;
2. the process's copy, while the shared cache confirmed it current less than CONFIRM_SECONDS
   ago: no cache read at all;
3. the shared cache (Redis in production, so every web process sees the same): one read of the
   generation, a short string; only when it differs from the process copy's is the whole
   snapshot fetched and unpickled, or built from the database (two queries) when nobody has.

So the steady state costs no query and at most one small cache read per request; a staff change
reaches every process within CONFIRM_SECONDS (at once in the process that made it).

When the shared cache fails (down, or hanging until the socket timeouts set in CACHES):
- the process copy serves for STALE_SECONDS after it was last confirmed; after that, or with
  none, the snapshot is built from the database: the gate answers as the database says;
- the cache is left alone for CACHE_REST_SECONDS, so a hanging Redis costs one timeout per
  process that often rather than one per request; a warning is logged at most every
  WARN_EVERY_SECONDS;
- a staff change whose invalidation could not reach the cache is invalidated again by that
  process once the cache answers, so the shared snapshot from before it is never used.

With neither the cache nor the database the gate fails OPEN (the last copy it had, however old,
or no window at all). Maintenance is a courtesy: the banner and the 503 page spare users an
error. Failing closed would turn a cache outage into an outage of every page, while with the
database down no service can write anyway, so `ensure_open` letting a write through changes
nothing.
"""

import bisect
import contextlib
import datetime
import functools
import logging
import operator
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from outages.features import Feature
from outages.models import Interruption, MaintenanceWindow, PostponedTask
from portal.cache import without_fallback as cache  # its failures, not the local fallback's copy

logger = logging.getLogger(__name__)

SNAPSHOT_KEY = "outages:snapshot:v2"
GENERATION_KEY = "outages:snapshot:generation"
SNAPSHOT_SECONDS = 3600
CONFIRM_SECONDS = 1.0
STALE_SECONDS = 300.0
CACHE_REST_SECONDS = 10.0
WARN_EVERY_SECONDS = 60.0
# What `closure_for` accepts, as a set: Feature(value) cost a tenth of a check.
FEATURES = frozenset(Feature.values)


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


_START = operator.attrgetter("starts_at")


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
    built_at: float = 0.0  # time.time() when read from the database: its age, in any process

    def spans_closing(self, feature: str, *, write: bool) -> tuple[InterruptionSpan, ...]:
        """The spans that close `feature` for writing (`write`) or for reading, whenever they
        are, by start: found by key, since every request asks several times (reading all spans
        each time cost most of a check with a hundred windows ahead)."""
        return self._closing.get((feature, write), ())

    @functools.cached_property
    def _closing(self) -> dict[tuple[str, bool], tuple[InterruptionSpan, ...]]:
        closing: dict[tuple[str, bool], list[InterruptionSpan]] = {}
        for span in self.spans:
            for feature in span.features:
                closing.setdefault((feature, True), []).append(span)
                if not span.read_only:
                    closing.setdefault((feature, False), []).append(span)
        return {key: tuple(sorted(spans, key=_START)) for key, spans in closing.items()}


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
    """The windows that have not ended: the request's, the process's or the shared one.

    A snapshot is only used when it carries the current generation. A process that read the
    database just before staff committed a change may still write its (old) snapshot after the
    change outdated the generation; nobody uses it and the next request rebuilds. Deleting the
    key alone would leave that stale copy for an hour.
    """
    pinned = _request_snapshot.get()
    if pinned:
        return pinned[0]
    taken = _process_snapshot()
    if pinned is not None:
        pinned.append(taken)
    return taken


# The request's snapshot: empty until its first check, None outside a request.
_request_snapshot: ContextVar[list[Snapshot] | None] = ContextVar(
    "outages_gate_request_snapshot", default=None
)


@contextlib.contextmanager
def one_snapshot_per_request() -> Iterator[None]:
    """Every check inside reads the snapshot the first one read: one cache read at most."""
    token = _request_snapshot.set([])
    try:
        yield
    finally:
        _request_snapshot.reset(token)


@dataclass(frozen=True)
class _Copy:
    snapshot: Snapshot
    confirmed_at: float  # time.time() when the shared cache (or the database) last vouched for it


@dataclass
class _ProcessState:
    """What this process remembers between requests. Threads share it without a lock: a race
    costs at most one more read or one more warning."""

    copy: _Copy | None = None
    cache_failed_at: float | None = None
    warned_at: dict[str, float] = field(default_factory=dict)  # by message
    invalidation_pending: bool = False


_process = _ProcessState()


def forget_process_copy() -> None:
    """Start again as a new process would (tests use it to play another process)."""
    global _process
    _process = _ProcessState()


class _CacheUnreachable(Exception):
    """The shared cache raised: whatever the backend's own error, the gate does without it."""


def _shared(operation: Callable[..., Any], *args: Any) -> Any:
    try:
        return operation(*args)
    except Exception as error:  # each backend (redis, memcached, ...) raises its own errors
        raise _CacheUnreachable(type(error).__name__) from error


def _process_snapshot() -> Snapshot:
    now = time.time()
    held = _process.copy
    if held is not None and _within(held.confirmed_at, now, CONFIRM_SECONDS):
        return held.snapshot
    failed_at = _process.cache_failed_at
    if failed_at is not None and _within(failed_at, now, CACHE_REST_SECONDS):
        return _without_cache(held, now)
    try:
        taken = _from_shared_cache(held, now)
    except _CacheUnreachable as error:
        _cache_failed(now, error)
        return _without_cache(held, now)
    _process.copy = _Copy(taken, now)
    return taken


def _within(since: float, now: float, seconds: float) -> bool:
    # A clock that went back makes the age negative: not trusted, as if too old.
    return 0 <= now - since < seconds


def _from_shared_cache(held: _Copy | None, now: float) -> Snapshot:
    if _process.invalidation_pending:
        _outdate_shared_snapshot()
        _process.invalidation_pending = False
    generation = _shared(cache.get, GENERATION_KEY)
    if generation is None:
        return _rebuild(_new_generation_if_missing())
    if (
        held is not None
        and held.snapshot.generation == generation
        and _within(held.snapshot.built_at, now, SNAPSHOT_SECONDS)
    ):
        return held.snapshot
    cached = _shared(cache.get, SNAPSHOT_KEY)
    if isinstance(cached, Snapshot) and cached.generation == generation:
        return cached
    return _rebuild(generation)


def _rebuild(generation: str) -> Snapshot:
    fresh = _build_snapshot(generation)
    _shared(cache.set, SNAPSHOT_KEY, fresh, SNAPSHOT_SECONDS)
    return fresh


def _without_cache(held: _Copy | None, now: float) -> Snapshot:
    """The process copy while it is recent enough, else the database's word, else open."""
    if held is not None and _within(held.confirmed_at, now, STALE_SECONDS):
        return held.snapshot
    try:
        built = _build_snapshot(generation="")  # a generation no cache holds: replaced once back
    except DatabaseError as error:
        _warn(
            now,
            "The gate could read neither the cache nor the database (%s): it stays open.",
            type(error).__name__,
        )
        return held.snapshot if held is not None else Snapshot(spans=(), windows=())
    _process.copy = _Copy(built, now)
    return built


def _cache_failed(now: float, error: _CacheUnreachable) -> None:
    _process.cache_failed_at = now
    _warn(
        now,
        "The shared cache failed (%s): the gate reads its own copy or the database.",
        str(error),
    )


def _warn(now: float, message: str, reason: str) -> None:
    warned_at = _process.warned_at.get(message)
    if warned_at is None or not _within(warned_at, now, WARN_EVERY_SECONDS):
        _process.warned_at[message] = now
        logger.warning(message, reason)


def invalidate() -> None:
    """Outdate the snapshot in every process once the staff's change is committed.

    After commit, so no process can rebuild from the rows being changed and keep them; a
    rolled-back change invalidates nothing.
    """
    transaction.on_commit(_bump_generation)


def _bump_generation() -> None:
    _process.copy = None
    pinned = _request_snapshot.get()
    if pinned:
        pinned.clear()  # the rest of this request sees the change too
    try:
        _outdate_shared_snapshot()
    except _CacheUnreachable as error:
        _process.invalidation_pending = True
        _cache_failed(time.time(), error)


def _outdate_shared_snapshot() -> None:
    _shared(cache.set, GENERATION_KEY, uuid.uuid4().hex, None)
    _shared(cache.delete, SNAPSHOT_KEY)


def _new_generation_if_missing() -> str:
    # `add` keeps whichever process won: all of them then agree on one generation.
    _shared(cache.add, GENERATION_KEY, uuid.uuid4().hex, None)
    return str(_shared(cache.get, GENERATION_KEY))


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
    return Snapshot(spans=spans, windows=windows, generation=generation, built_at=time.time())


def closure_for(
    feature: Feature | str, *, write: bool = True, at: datetime.datetime | None = None
) -> Closure | None:
    """The closure in force for `feature` at `at` (now), or None when it is open.

    Reading (`write=False`) stays open under read-only interruptions. Overlapping interruptions
    of one capability are merged, so `until` is when it really opens again.
    """
    if feature not in FEATURES:
        raise ValueError(f"{feature!r} is not a Feature")
    matching = snapshot().spans_closing(feature, write=write)
    if not matching:
        return None
    moment = at or timezone.now()
    # Only the spans started by then can be under way: the windows ahead are skipped unread.
    started = matching[: bisect.bisect_right(matching, moment, key=_START)]
    active = [span for span in started if moment < span.ends_at]
    if not active:
        return None
    return Closure(
        feature=Feature(feature), until=_merged_end(active, matching), spans=tuple(active)
    )


def _merged_end(
    active: Iterable[InterruptionSpan], candidates: Iterable[InterruptionSpan]
) -> datetime.datetime:
    """The end of the interruptions under way and of those that follow on without a gap.
    `candidates` come by start, so one pass finds a whole chain: a span that starts after the
    end found so far is followed only by spans that start later still."""
    until = max(span.ends_at for span in active)
    for span in candidates:
        if span.starts_at <= until < span.ends_at:
            until = span.ends_at
    return until


def state_token(at: datetime.datetime | None = None) -> str:
    """What cached page fragments must vary on: the windows' generation and which of their
    interruptions are under way now (a window starting or ending changes the buttons)."""
    moment = at or timezone.now()
    current = snapshot()
    active = ",".join(str(span.pk) for span in current.spans if span.covers(moment))
    return f"{current.generation}:{active}"


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
