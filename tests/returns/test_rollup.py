"""The per-account, per-Eastern-day rollup (DailyReturns) kept at ingestion equals a recount from
the stored events, whatever order and batches the events came in: across midnight in Toronto and
both daylight-saving changes, and with two workers applying at once (PostgreSQL)."""

import datetime
import random
import threading
import time
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.db.models import Count, Min
from django.db.models.functions import TruncDate

from returns import notifications
from returns.models import DailyReturns, ReturnLabel, TrackingEvent
from returns.services.tracking import apply_pending_events, record_tracking_events
from tests.billing.factories import BillingProfileFactory
from tests.conftest import postgres_in_use, require_service
from tests.returns.factories import ContractPolicyFactory, LabelFactory
from tests.returns.tracking_factories import event_data

TORONTO = ZoneInfo("America/Toronto")
NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)
Kind = TrackingEvent.Kind

# Midnights in Toronto around which events cluster: plain days, the spring change (March 8,
# 2026: 2 a.m. EST becomes 3 a.m. EDT) and the fall change (November 1, 2026: 2 a.m. EDT
# becomes 1 a.m. EST).
MIDNIGHTS = [
    datetime.datetime(2026, month, day, tzinfo=TORONTO)
    for month, day in [(3, 7), (3, 8), (3, 9), (6, 30), (7, 1), (10, 31), (11, 1), (11, 2)]
]


def rollup() -> dict[tuple[int, datetime.date], tuple[int, int, int]]:
    """The rollup's rows that count something: (account, day) → (accepted, exceptions,
    delivered)."""
    return {
        (row.account_id, row.day): (row.accepted, row.exceptions, row.delivered)
        for row in DailyReturns.objects.all()
        if row.accepted or row.exceptions or row.delivered
    }


def recount() -> dict[tuple[int, datetime.date], tuple[int, int, int]]:
    """The same, counted again from the stored events: labels by the Eastern day of their first
    drop-off and of their first delivery, exceptions one by one."""
    counts: dict[str, Counter[tuple[int, datetime.date]]] = {}
    for kind in (Kind.ACCEPTED, Kind.DELIVERED):
        firsts = (
            TrackingEvent.objects.filter(kind=kind)
            .values("label", "account")
            .annotate(first=Min("occurred_at"))
        )
        counts[kind] = Counter(
            (row["account"], row["first"].astimezone(TORONTO).date()) for row in firsts
        )
    exceptions = (
        TrackingEvent.objects.filter(kind=Kind.EXCEPTION)
        .annotate(day=TruncDate("occurred_at", tzinfo=TORONTO))
        .values("account", "day")
        .annotate(n=Count("pk"))
    )
    counts[Kind.EXCEPTION] = Counter({(row["account"], row["day"]): row["n"] for row in exceptions})
    keys = set().union(*counts.values())
    return {
        key: (counts[Kind.ACCEPTED][key], counts[Kind.EXCEPTION][key], counts[Kind.DELIVERED][key])
        for key in keys
    }


def _near_midnight(rng: random.Random) -> datetime.datetime:
    midnight = rng.choice(MIDNIGHTS).astimezone(datetime.UTC)
    if rng.random() < 0.2:  # right on the edge
        return midnight + datetime.timedelta(seconds=rng.choice([-1, 0]))
    return midnight + datetime.timedelta(minutes=rng.randint(-240, 240))


def random_events(rng: random.Random, labels: list[ReturnLabel]) -> list[dict[str, Any]]:
    """A plausible life for each label, with rescans, exceptions and resent events."""
    events = []
    for label in labels:
        at = _near_midnight(rng)
        events.append(event_data(label, "ACCEPTED", at))
        if rng.random() < 0.15:  # a second drop-off scan, before or after the first
            events.append(event_data(label, "ACCEPTED", at + rng.choice([-1, 1]) * _hours(rng)))
        at += _hours(rng)
        for _ in range(rng.randint(0, 3)):
            events.append(event_data(label, rng.choice(["IN_TRANSIT", "EXCEPTION"]), at))
            at += _hours(rng)
        if rng.random() < 0.7:
            events.append(event_data(label, "DELIVERED", at))
            if rng.random() < 0.1:
                events.append(event_data(label, "DELIVERED", at + _hours(rng)))
    resent = rng.sample(events, k=len(events) // 10)
    return events + resent


def _hours(rng: random.Random) -> datetime.timedelta:
    return datetime.timedelta(minutes=rng.randint(1, 60 * 30))


def _contract_policies(count: int) -> list[Any]:
    """Policies paid by agreement, billed to account: charging calls no gateway."""
    policies = ContractPolicyFactory.create_batch(count)
    for policy in policies:
        BillingProfileFactory(account=policy.account, terms_days=30)
    return policies


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3])
@time_machine.travel(NOW, tick=False)
def test_the_rollup_equals_a_recount_after_random_ingestion(seed):
    rng = random.Random(seed)
    policies = _contract_policies(3)
    labels = [LabelFactory(policy=rng.choice(policies)) for _ in range(60)]
    events = random_events(rng, labels)
    rng.shuffle(events)
    assert len(events) > 200
    while events:
        size = rng.randint(1, 60)
        batch, events = events[:size], events[size:]
        assert not [r for r in record_tracking_events(batch) if r.is_error]
        if rng.random() < 0.5:  # events of one label arrive over several runs, out of order
            apply_pending_events()
    apply_pending_events()

    assert not TrackingEvent.objects.filter(applied_at__isnull=True).exists()
    expected = recount()
    assert sum(a for a, _e, _d in expected.values()) == len(labels)  # every label dropped off
    assert rollup() == expected
    for label in ReturnLabel.objects.all():
        first = label.events.filter(kind=Kind.ACCEPTED).aggregate(first=Min("occurred_at"))
        assert label.accepted_at == first["first"]
        delivered = label.events.filter(kind=Kind.DELIVERED).exists()
        assert (label.state == ReturnLabel.State.DELIVERED) == delivered
        assert label.charged_at is not None


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_an_event_is_counted_on_its_day_in_toronto_across_midnight_and_both_clock_changes():
    [policy] = _contract_policies(1)
    labels = LabelFactory.create_batch(6, policy=policy)
    utc = datetime.UTC
    moments = [
        # Winter (EST, UTC-5): midnight is 05:00 UTC.
        datetime.datetime(2026, 3, 8, 4, 59, 59, tzinfo=utc),  # March 7, 23:59:59
        datetime.datetime(2026, 3, 8, 5, 0, 0, tzinfo=utc),  # March 8, 00:00 (then 2 → 3 a.m.)
        # The day after the spring change (EDT, UTC-4): midnight is 04:00 UTC.
        datetime.datetime(2026, 3, 9, 3, 59, 59, tzinfo=utc),  # March 8, 23:59:59
        datetime.datetime(2026, 3, 9, 4, 0, 0, tzinfo=utc),  # March 9, 00:00
        # Fall change: 1:30 a.m. happens twice on November 1; both are that day.
        datetime.datetime(2026, 11, 1, 5, 30, tzinfo=utc),  # 1:30 EDT
        datetime.datetime(2026, 11, 1, 6, 30, tzinfo=utc),  # 1:30 EST
    ]
    record_tracking_events(
        [event_data(label, "ACCEPTED", at) for label, at in zip(labels, moments, strict=True)]
        + [
            event_data(labels[0], "EXCEPTION", moments[1]),
            event_data(labels[0], "DELIVERED", moments[3]),
        ]
    )
    apply_pending_events()
    account = policy.account_id
    assert rollup() == {
        (account, datetime.date(2026, 3, 7)): (1, 0, 0),
        (account, datetime.date(2026, 3, 8)): (2, 1, 0),
        (account, datetime.date(2026, 3, 9)): (1, 0, 1),
        (account, datetime.date(2026, 11, 1)): (2, 0, 0),
    }


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_an_earlier_drop_off_arriving_later_moves_the_count_to_its_day():
    [policy] = _contract_policies(1)
    label = LabelFactory(policy=policy)
    late = datetime.datetime(2026, 7, 1, 4, 30, tzinfo=datetime.UTC)  # July 1, 00:30 EDT
    early = late - datetime.timedelta(hours=1)  # June 30, 23:30 EDT
    record_tracking_events([event_data(label, "ACCEPTED", late)])
    apply_pending_events()
    assert rollup() == {(policy.account_id, datetime.date(2026, 7, 1)): (1, 0, 0)}
    record_tracking_events([event_data(label, "ACCEPTED", early)])
    apply_pending_events()
    assert rollup() == {(policy.account_id, datetime.date(2026, 6, 30)): (1, 0, 0)}
    assert rollup() == recount()


# --- two workers at once (PostgreSQL) ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_runs_applying_at_once_apply_each_event_once_and_count_exactly(monkeypatch):
    require_service("PostgreSQL (DATABASE_URL)", postgres_in_use())
    rng = random.Random(7)
    with time_machine.travel(NOW, tick=False):
        policies = _contract_policies(2)
        labels = [LabelFactory(policy=rng.choice(policies)) for _ in range(30)]
        # Every drop-off on one of two days: the runs race to create and update the same rows.
        day = datetime.datetime(2026, 11, 20, 15, tzinfo=datetime.UTC)
        events = [
            event_data(label, "ACCEPTED", day + rng.choice([0, 24]) * _hour()) for label in labels
        ]
        events += [event_data(label, "EXCEPTION", day + 30 * _hour()) for label in labels]
        assert not [r for r in record_tracking_events(events) if r.is_error]
    # Hold each label's transaction open a moment, so the two runs overlap.
    real = notifications.queue_event_notices

    def slow(event: TrackingEvent) -> int:
        time.sleep(0.01)
        return real(event)

    monkeypatch.setattr(notifications, "queue_event_notices", slow)
    start = threading.Barrier(2)
    applied: list[int] = []
    failed: list[Exception] = []

    def run() -> None:
        try:
            start.wait()
            applied.append(apply_pending_events())
        except Exception as error:  # any failure is the test's, reported below
            failed.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failed == []
    assert len(applied) == 2 and all(applied)  # both runs had a share of the labels
    assert sum(applied) == len(events)
    assert not TrackingEvent.objects.filter(applied_at__isnull=True).exists()
    assert rollup() == recount()
    assert sum(row.accepted for row in DailyReturns.objects.all()) == len(labels)


@pytest.mark.django_db(transaction=True)
def test_the_same_batch_delivered_twice_at_once_is_stored_once():
    require_service("PostgreSQL (DATABASE_URL)", postgres_in_use())
    with time_machine.travel(NOW, tick=False):
        labels = LabelFactory.create_batch(20, policy=_contract_policies(1)[0])
    moment = datetime.datetime(2026, 11, 20, 15, tzinfo=datetime.UTC)
    batch = [event_data(label, "ACCEPTED", moment) for label in labels]
    start = threading.Barrier(2)
    outcomes: list[list[str]] = []
    failed: list[Exception] = []

    def deliver() -> None:
        try:
            start.wait()
            outcomes.append([r.status for r in record_tracking_events(batch)])
        except Exception as error:  # any failure is the test's, reported below
            failed.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failed == []
    assert all(status in {"ok", "duplicate"} for outcome in outcomes for status in outcome)
    assert TrackingEvent.objects.count() == len(labels)


def _hour() -> datetime.timedelta:
    return datetime.timedelta(hours=1)
