"""The gate: boundaries, read-only interruptions, overlaps, and what it costs per request."""

import datetime

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from outages import gate
from outages.features import Feature
from outages.models import Interruption
from tests.outages.factories import InterruptionFactory, MaintenanceWindowFactory, closing

pytestmark = pytest.mark.django_db
SECOND = datetime.timedelta(seconds=1)
HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def registration_tomorrow():
    starts = timezone.now().replace(microsecond=0) + 24 * HOUR
    return closing(Feature.REGISTRATION, starts_at=starts, ends_at=starts + 2 * HOUR)


@pytest.mark.parametrize(
    ("offset", "edge", "open_"),
    [
        (-SECOND, "start", True),
        (datetime.timedelta(0), "start", False),
        (SECOND, "start", False),
        (-SECOND, "end", False),
        (datetime.timedelta(0), "end", True),
        (SECOND, "end", True),
    ],
)
def test_boundaries_a_second_before_at_and_after(registration_tomorrow, offset, edge, open_):
    moment = getattr(registration_tomorrow, f"{edge}s_at") + offset

    assert gate.is_open(Feature.REGISTRATION, at=moment) is open_


@pytest.mark.parametrize("feature", list(Feature))
def test_every_capability_closes_during_its_interruption_and_opens_after(feature):
    interruption = closing(feature)
    after = interruption.ends_at + SECOND

    assert not gate.is_open(feature)
    with pytest.raises(gate.FeatureClosed) as raised:
        gate.ensure_open(feature)
    assert raised.value.closure.until == interruption.ends_at
    assert gate.is_open(feature, at=after)
    others = [other for other in Feature if other != feature]
    assert all(gate.is_open(other) for other in others)


def test_read_only_interruption_keeps_reading_open():
    closing(Feature.INVOICES, scope=Interruption.Scope.WRITES)

    assert gate.is_open(Feature.INVOICES, write=False)
    assert not gate.is_open(Feature.INVOICES, write=True)


def test_a_feature_is_asked_by_its_value_too_and_an_unknown_one_is_refused():
    closing(Feature.INVOICES)

    closure = gate.closure_for("invoices", write=False)

    assert closure is not None
    assert closure.feature is Feature.INVOICES
    with pytest.raises(ValueError, match="not a Feature"):
        gate.is_open("invoicez")


def test_a_read_only_and_a_full_interruption_close_reading_until_the_full_one_ends():
    now = timezone.now()
    closing(Feature.INVOICES, scope=Interruption.Scope.WRITES, ends_at=now + 3 * HOUR)
    full = closing(Feature.INVOICES, ends_at=now + HOUR)

    reading = gate.closure_for(Feature.INVOICES, write=False)
    writing = gate.closure_for(Feature.INVOICES, write=True)

    assert reading is not None and reading.until == full.ends_at
    assert not reading.read_only
    assert writing is not None and writing.until == now + 3 * HOUR


def test_a_window_ahead_saved_first_does_not_join_the_one_under_way():
    now = timezone.now()
    ahead = closing(Feature.INVOICES, starts_at=now + 5 * HOUR, ends_at=now + 6 * HOUR)
    current = closing(Feature.INVOICES, starts_at=now - HOUR, ends_at=now + HOUR)

    closure = gate.closure_for(Feature.INVOICES)

    assert closure is not None
    assert closure.spans == (gate.snapshot().spans_closing("invoices", write=True)[0],)
    assert [span.pk for span in closure.spans] == [current.pk]
    assert closure.until == current.ends_at
    assert gate.is_open(Feature.INVOICES, at=ahead.starts_at - SECOND)
    assert not gate.is_open(Feature.INVOICES, at=ahead.starts_at)


def test_a_chain_of_interruptions_saved_out_of_order_is_merged_to_its_last_end():
    now = timezone.now()
    window = MaintenanceWindowFactory.create(starts_at=now - HOUR, ends_at=now + 9 * HOUR)
    for start, end in [(5, 8), (-1, 2), (7, 9), (1, 4), (3, 6)]:  # each overlaps the one before
        InterruptionFactory.create(
            window=window, starts_at=now + start * HOUR, ends_at=now + end * HOUR
        )

    closure = gate.closure_for(Feature.REGISTRATION)

    assert closure is not None and closure.until == now + 9 * HOUR


def test_a_feature_nothing_closes_has_no_spans():
    closing(Feature.INVOICES)

    assert gate.snapshot().spans_closing(Feature.REGISTRATION, write=True) == ()
    assert gate.snapshot().spans_closing(Feature.INVOICES, write=False) != ()


def test_the_state_token_names_the_generation_and_the_interruptions_under_way():
    now = timezone.now().replace(microsecond=0)
    half = HOUR / 2
    first = closing(Feature.INVOICES, starts_at=now, ends_at=now + HOUR)
    second = closing(Feature.REGISTRATION, starts_at=now + half, ends_at=now + 2 * HOUR)
    generation = gate.snapshot().generation

    assert gate.state_token(now - SECOND) == f"{generation}:"
    assert gate.state_token(now) == f"{generation}:{first.pk}"
    assert gate.state_token(now + half) == f"{generation}:{first.pk},{second.pk}"
    assert gate.state_token(now + HOUR) == f"{generation}:{second.pk}"


def test_cancelled_window_closes_nothing():
    closing(Feature.REGISTRATION, cancelled_at=timezone.now())

    assert gate.is_open(Feature.REGISTRATION)


def test_overlapping_interruptions_of_one_capability_are_merged():
    now = timezone.now()
    window = MaintenanceWindowFactory.create(starts_at=now - HOUR, ends_at=now + 5 * HOUR)
    InterruptionFactory.create(window=window, starts_at=now - HOUR, ends_at=now + 2 * HOUR)
    InterruptionFactory.create(window=window, starts_at=now + HOUR, ends_at=now + 4 * HOUR)

    closure = gate.closure_for(Feature.REGISTRATION)

    assert closure is not None
    assert closure.until == now + 4 * HOUR
    assert 4 * 3600 - 5 <= closure.retry_after_seconds() <= 4 * 3600


def test_announced_windows_are_those_under_way_or_within_a_week():
    now = timezone.now()
    soon = MaintenanceWindowFactory.create(starts_at=now + 6 * 24 * HOUR)
    MaintenanceWindowFactory.create(starts_at=now + 8 * 24 * HOUR)
    MaintenanceWindowFactory.create(starts_at=now - 2 * HOUR, ends_at=now - HOUR)

    assert [w.pk for w in gate.announced_windows()] == [soon.pk]


def test_a_cached_snapshot_costs_no_query(django_assert_num_queries):
    closing(Feature.REGISTRATION)
    gate.closure_for(Feature.REGISTRATION)  # builds and caches the snapshot

    with django_assert_num_queries(0):
        assert gate.closure_for(Feature.REGISTRATION) is not None
        assert gate.is_open(Feature.ONLINE_PAYMENT)
        assert gate.announced_windows()


@pytest.mark.parametrize("window_count", [0, 20])
def test_a_page_costs_the_same_queries_with_0_or_20_windows(
    client, django_assert_num_queries, window_count
):
    for _ in range(window_count):
        closing(Feature.ONLINE_PAYMENT, starts_at=timezone.now() + HOUR)
    client.get(reverse("account_login"))  # the first request builds the snapshot

    # Pinned: an anonymous sign-in page asks the database nothing once the gate is cached.
    with django_assert_num_queries(0):
        response = client.get(reverse("account_login"))

    assert response.status_code == 200
    assert (b"Planned maintenance" in response.content) is bool(window_count)


def test_staff_saving_a_window_drops_the_snapshot(django_capture_on_commit_callbacks):
    interruption = closing(Feature.REGISTRATION)
    assert not gate.is_open(Feature.REGISTRATION)

    with django_capture_on_commit_callbacks(execute=True):
        window = interruption.window
        window.cancelled_at = timezone.now()
        window.save()

    # The next call rebuilds from the database: every process shares this cache, so all see it.
    assert cache.get(gate.SNAPSHOT_KEY) is None
    assert gate.is_open(Feature.REGISTRATION)


def test_nothing_is_dropped_before_the_change_commits(django_capture_on_commit_callbacks):
    interruption = closing(Feature.REGISTRATION)
    gate.snapshot()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        interruption.window.save()

    assert callbacks, "invalidation waits for the commit"
    assert cache.get(gate.SNAPSHOT_KEY) is not None


def test_a_snapshot_built_from_data_older_than_the_change_is_never_used(
    django_capture_on_commit_callbacks,
):
    """Another process read the rows before staff committed and writes its snapshot after the
    invalidation: its generation is outdated, so nobody uses it."""
    interruption = closing(Feature.REGISTRATION)
    stale = gate.snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        window = interruption.window
        window.cancelled_at = timezone.now()
        window.save()

    cache.set(gate.SNAPSHOT_KEY, stale)  # the late writer

    assert gate.is_open(Feature.REGISTRATION)
