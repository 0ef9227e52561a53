"""Tracking events: stored as they arrive, applied to their labels when ingestion is open.

Events come from the carrier's signed endpoint (returns.views.tracking) and from
`manage.py import_tracking`; both call `record_tracking_events` then `apply_pending_events`.

Storing never waits for the gate: during a tracking-ingestion maintenance window events are still
accepted and stored, and the beat job (returns.tasks.apply_pending_events, every minute) applies
them once the window ends. Nothing is lost, and nothing is applied twice: an event is stored once
(the unique constraint label + kind + moment) and marked applied in the transaction that applies
it.

Applying an event to its label:
- the label's state moves forward only (ISSUED < ACCEPTED < IN_TRANSIT = EXCEPTION < DELIVERED):
  a late event never takes it back, DELIVERED is final, and between IN_TRANSIT and EXCEPTION the
  event that happened last wins (an exception, then the parcel moving again);
- `accepted_at` and `delivered_at` are the moments of the label's earliest ACCEPTED and DELIVERED
  events; the first ACCEPTED charges the label (returns.services.charges, idempotent: a declined
  card suspends the policy and leaves the charge owed);
- the per-account, per-Eastern-day rollup (DailyReturns) counts the labels dropped off and
  delivered on each day (by those two moments) and every EXCEPTION event, so the report never
  counts events;
- the business's recipients are told (returns.notifications.queue_event_notices), in the same
  transaction: a notice is never queued for an event that is then not applied.
"""

import datetime
import logging
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from outages import gate
from outages.features import Feature
from portal.formatting import to_eastern
from portal.fragments import account_scope, changed
from returns import notifications
from returns.models import DailyReturns, ReturnLabel, TrackingEvent
from returns.services.charges import charge_label
from returns.tracking_numbers import is_valid

logger = logging.getLogger(__name__)

Kind = TrackingEvent.Kind
State = ReturnLabel.State

MAX_PLACE_LENGTH = TrackingEvent._meta.get_field("place").max_length or 100
# Labels whose events one pass of `apply_pending_events` reads at a time.
LABELS_PER_PASS = 200

# Changes to the rollup while applying one label's events: (day, counter) → how many.
Counts = Counter[tuple[datetime.date, str]]

# How far along each state is: a label never moves to a state of a lower rank.
_RANK = {
    State.ISSUED: 0,
    State.ACCEPTED: 1,
    State.IN_TRANSIT: 2,
    State.EXCEPTION: 2,
    State.DELIVERED: 3,
}


@dataclass(frozen=True)
class Result:
    """What became of one event: "ok" (stored now), "duplicate" (stored before, or twice in the
    batch: kept once) or "error" with a `code` for programs and a `message` for people."""

    status: str
    code: str = ""
    message: str = ""

    OK = "ok"
    DUPLICATE = "duplicate"
    ERROR = "error"

    @property
    def is_error(self) -> bool:
        return self.status == self.ERROR


STORED = Result(Result.OK)
DUPLICATE = Result(Result.DUPLICATE)


def _error(code: str, message: str) -> Result:
    return Result(Result.ERROR, code, message)


@dataclass(frozen=True)
class _Valid:
    tracking_number: str
    kind: str
    occurred_at: datetime.datetime
    place: str


def record_tracking_events(events: Iterable[Any]) -> list[Result]:
    """Validate and store `events` (dicts with tracking_number, kind, occurred_at, place); returns
    one Result per event, in order.

    Each event is judged alone: a bad one is reported (an "error" Result with its code) and the
    others are stored. An event already stored, or twice in `events`, is a "duplicate", not an
    error. Stores even while tracking ingestion is closed; `apply_pending_events` applies later.

    Two deliveries of one event racing each other both see "ok"; the database keeps one row.
    """
    events = list(events)
    results: list[Result | None] = []
    valid: dict[int, _Valid] = {}
    for index, raw in enumerate(events):
        checked = _validated(raw)
        if isinstance(checked, Result):
            results.append(checked)
        else:
            results.append(None)
            valid[index] = checked
    labels: dict[str, tuple[int, int]] = {
        number: (label_id, account_id)
        for number, label_id, account_id in ReturnLabel.objects.filter(
            tracking_number__in={event.tracking_number for event in valid.values()}
        ).values_list("tracking_number", "pk", "account_id")
    }
    known = {
        (label_id, kind, occurred_at)
        for label_id, kind, occurred_at in TrackingEvent.objects.filter(
            label_id__in=[label_id for label_id, _account in labels.values()],
            occurred_at__in={event.occurred_at for event in valid.values()},
        ).values_list("label_id", "kind", "occurred_at")
    }
    new: list[TrackingEvent] = []
    for index, event in valid.items():
        label_id, account_id = labels.get(event.tracking_number, (None, None))
        if label_id is None or account_id is None:
            results[index] = _error(
                "unknown_tracking_number",
                f"No return label has the tracking number {event.tracking_number}.",
            )
            continue
        key = (label_id, event.kind, event.occurred_at)
        if key in known:
            results[index] = DUPLICATE
            continue
        known.add(key)
        results[index] = STORED
        new.append(
            TrackingEvent(
                label_id=label_id,
                account_id=account_id,
                kind=event.kind,
                occurred_at=event.occurred_at,
                place=event.place,
            )
        )
    # A twin delivery that stored the same event meanwhile: the constraint keeps one row.
    TrackingEvent.objects.bulk_create(new, ignore_conflicts=True)
    changed(*(account_scope(event.account_id) for event in new))  # bulk: no signal
    return [result or STORED for result in results]


def _validated(raw: Any) -> _Valid | Result:
    if not isinstance(raw, Mapping):
        return _error(
            "malformed_event",
            "An event is an object with tracking_number, kind, occurred_at and place.",
        )
    number = raw.get("tracking_number")
    if not isinstance(number, str) or not number.strip():
        return _error("missing_tracking_number", "The tracking number is missing.")
    number = number.strip().upper()
    if not is_valid(number):
        return _error(
            "invalid_tracking_number",
            f"{number[:20]!r} is not a tracking number (two letters, nine digits with the S10 "
            "check digit, then CA).",
        )
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind.strip().upper() not in Kind.values:
        return _error(
            "invalid_kind",
            f"The event kind must be one of {', '.join(Kind.values)}.",
        )
    occurred_at = _moment(raw.get("occurred_at"))
    if occurred_at is None:
        return _error(
            "invalid_occurred_at",
            "occurred_at must be an ISO 8601 date and time with its time zone, "
            "e.g. 2026-10-05T14:30:00-04:00.",
        )
    if occurred_at > timezone.now() + datetime.timedelta(
        seconds=settings.RETURNS_TRACKING_MAX_SKEW
    ):
        return _error("occurred_at_in_future", "occurred_at is in the future.")
    place = raw.get("place") or ""
    if not isinstance(place, str):
        return _error("invalid_place", "The place must be text.")
    place = place.strip()
    if len(place) > MAX_PLACE_LENGTH:
        return _error("place_too_long", f"The place has more than {MAX_PLACE_LENGTH} characters.")
    return _Valid(number, kind.strip().upper(), occurred_at, place)


def _moment(value: Any) -> datetime.datetime | None:
    """An aware datetime in UTC from ISO 8601 text with a time zone, else None."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None
    return moment.astimezone(datetime.UTC)


def apply_pending_events(*, seconds: float | None = None) -> int:
    """Apply the stored events not applied yet, unless tracking ingestion is closed; returns how
    many were applied.

    Each label is applied in its own transaction, its row locked with SKIP LOCKED: two runs at
    once (the beat job and a request) share the work and never apply an event twice. A label whose
    events fail (a bug, the database) is logged and left for the next run; the others go on.
    With `seconds`, no label is started once they have passed (one label at least): the rest is
    left for the next run, between two labels rather than inside one.
    """
    deadline = None if seconds is None else time.monotonic() + seconds
    applied = tried = 0
    after = 0
    while True:
        if not gate.is_open(Feature.TRACKING_INGESTION):
            return applied
        label_ids = list(
            TrackingEvent.objects.filter(applied_at__isnull=True, label_id__gt=after)
            .order_by("label_id")
            .values_list("label_id", flat=True)
            .distinct()[:LABELS_PER_PASS]
        )
        if not label_ids:
            return applied
        for label_id in label_ids:
            if not gate.is_open(Feature.TRACKING_INGESTION):
                return applied
            if tried and deadline is not None and time.monotonic() > deadline:
                return applied
            tried += 1
            try:
                applied += _apply_label(label_id)
            except Exception:
                logger.exception("the tracking events of label %s could not be applied", label_id)
        after = label_ids[-1]


def events_pending() -> bool:
    return TrackingEvent.objects.filter(applied_at__isnull=True).exists()


def _apply_label(label_id: int) -> int:
    with transaction.atomic():
        label = (
            ReturnLabel.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("account")
            .filter(pk=label_id)
            .first()
        )
        if label is None:  # another run holds it: its events are being applied there
            return 0
        events = list(label.events.filter(applied_at__isnull=True).order_by("occurred_at", "pk"))
        if not events:
            return 0
        latest = label.events.filter(applied_at__isnull=False).aggregate(latest=Max("occurred_at"))
        last_moment: datetime.datetime | None = latest["latest"]
        was_accepted = label.accepted_at is not None
        counts: Counts = Counter()
        now = timezone.now()
        for event in events:
            last_moment = _apply(label, event, last_moment, counts)
            event.applied_at = now
        TrackingEvent.objects.bulk_update(events, ["applied_at"])
        label.save(update_fields=["state", "accepted_at", "delivered_at"])
        # Day by day: every run locks the rollup rows of an account in one order (no deadlock).
        for (day, counter), delta in sorted(counts.items()):
            if delta:
                _count(label.account_id, day, counter, delta)
        # Last, so nothing after it can undo the label's bookkeeping once the card is charged.
        if not was_accepted and label.accepted_at is not None:
            charge_label(label)
        return len(events)


def _apply(
    label: ReturnLabel,
    event: TrackingEvent,
    last_moment: datetime.datetime | None,
    counts: Counts,
) -> datetime.datetime:
    """Apply one event to `label` (saved by the caller) and to `counts` (the rollup's changes);
    returns the latest applied moment."""
    state = State(event.kind)
    current = State(label.state)
    if _RANK[state] > _RANK[current] or (
        _RANK[state] == _RANK[current]
        and state != current
        and (last_moment is None or event.occurred_at >= last_moment)
    ):
        label.state = state
    tell = True
    if event.kind == Kind.ACCEPTED:
        tell = label.accepted_at is None
        label.accepted_at = _earliest(counts, "accepted", label.accepted_at, event)
    elif event.kind == Kind.DELIVERED:
        tell = label.delivered_at is None
        label.delivered_at = _earliest(counts, "delivered", label.delivered_at, event)
    elif event.kind == Kind.EXCEPTION:
        counts[_day(event.occurred_at), "exceptions"] += 1
    # A label dropped off or delivered again (a second scan) is news to nobody.
    if tell:
        notifications.queue_event_notices(event)
    if last_moment is None or event.occurred_at > last_moment:
        return event.occurred_at
    return last_moment


def _earliest(
    counts: Counts, counter: str, known: datetime.datetime | None, event: TrackingEvent
) -> datetime.datetime:
    """The earlier of `known` and the event's moment, the label's count moved to its day."""
    if known is not None and known <= event.occurred_at:
        return known
    if known is not None:
        counts[_day(known), counter] -= 1
    counts[_day(event.occurred_at), counter] += 1
    return event.occurred_at


def _day(moment: datetime.datetime) -> datetime.date:
    return to_eastern(moment).date()


def _count(account_id: int, day: datetime.date, counter: str, delta: int) -> None:
    """Add `delta` to one counter of the account's day, creating the row when it is the first;
    F() expressions and the unique row per account and day keep parallel runs exact."""
    row = DailyReturns.objects.filter(account_id=account_id, day=day)
    if row.update(**{counter: F(counter) + delta}):
        return
    try:
        with transaction.atomic():
            DailyReturns.objects.create(account_id=account_id, day=day, **{counter: delta})
    except IntegrityError:  # another run created it first: add to theirs
        row.update(**{counter: F(counter) + delta})
