"""The gate under a stopped clock: read-only interruptions at the services and the tasks, the end
of back-to-back and chained interruptions with the Retry-After they give, and the shared cache
that keeps the steady state free of queries.

Written where mutation testing (`make mutate`) found the gate's behaviour unpinned.
"""

import datetime

import pytest
from celery import shared_task
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.urls import reverse

from outages import gate
from outages.features import Feature
from outages.models import Interruption, MaintenanceWindow, PostponedTask
from portal.formatting import EASTERN
from tests.factories import UserFactory
from tests.outages.factories import HOUR, InterruptionFactory, MaintenanceWindowFactory
from tests.row_locks import row_locks

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2031, 3, 10, 9, 30, tzinfo=EASTERN)
MINUTE = datetime.timedelta(minutes=1)
ALL, WRITES = Interruption.Scope.ALL, Interruption.Scope.WRITES


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def window() -> MaintenanceWindow:
    return MaintenanceWindowFactory.create(starts_at=NOW - 2 * HOUR, ends_at=NOW + 12 * HOUR)


def interrupt(
    window: MaintenanceWindow,
    starts: float,
    ends: float,
    *features: Feature,
    scope: str = ALL,
) -> Interruption:
    """An interruption from `starts` to `ends` hours after NOW (negative: before)."""
    return InterruptionFactory.create(
        window=window,
        starts_at=NOW + starts * HOUR,
        ends_at=NOW + ends * HOUR,
        features=list(features or [Feature.INVOICES]),
        scope=scope,
    )


@shared_task(name="tests.rename_while_invoices_write")
@gate.gated_task(Feature.INVOICES, name="tests.rename_while_invoices_write")
def rename_writing(*, user_id: int, first_name: str) -> None:
    get_user_model().objects.filter(pk=user_id).update(first_name=first_name)


@shared_task
@gate.gated_task(Feature.INVOICES, write=False)
def rename_reading(*, user_id: int, first_name: str) -> None:
    get_user_model().objects.filter(pk=user_id).update(first_name=first_name)


def first_name(user) -> str:
    user.refresh_from_db()
    return user.first_name


# --- read-only interruptions: services and tasks ------------------------------------------------


def test_a_read_only_interruption_stops_a_service_that_writes_and_says_reading_works(window):
    interrupt(window, -1, 2, scope=WRITES)

    gate.ensure_open(Feature.INVOICES, write=False)  # reading: no exception
    with pytest.raises(gate.FeatureClosed) as raised:
        gate.ensure_open(Feature.INVOICES)

    closure = raised.value.closure
    assert closure.feature == Feature.INVOICES
    assert closure.read_only is True
    assert closure.until == NOW + 2 * HOUR
    assert str(raised.value) == "invoices is closed until 2031-03-10T15:30:00+00:00"


def test_a_full_interruption_stops_reading_too_and_is_not_called_read_only(window):
    interrupt(window, -1, 2)

    with pytest.raises(gate.FeatureClosed) as raised:
        gate.ensure_open(Feature.INVOICES, write=False)

    assert raised.value.closure.read_only is False


def test_a_read_only_and_a_full_interruption_together_are_not_read_only(window):
    interrupt(window, -1, 2, scope=WRITES)
    interrupt(window, -1, 1)

    closure = gate.closure_for(Feature.INVOICES)

    assert closure is not None
    assert closure.read_only is False
    assert len(closure.spans) == 2


def test_a_task_that_writes_is_postponed_by_a_read_only_interruption(window):
    interrupt(window, -1, 2, scope=WRITES)
    user = UserFactory.create(first_name="Before")

    rename_writing.delay(user_id=user.pk, first_name="After")

    assert first_name(user) == "Before"
    postponed = PostponedTask.objects.get()
    assert postponed.task_name == "tests.rename_while_invoices_write"
    assert postponed.feature == Feature.INVOICES
    assert postponed.kwargs == {"user_id": user.pk, "first_name": "After"}
    assert postponed.run_after == NOW + 2 * HOUR


def test_a_task_that_only_reads_runs_through_a_read_only_interruption(window):
    interrupt(window, -1, 2, scope=WRITES)
    user = UserFactory.create(first_name="Before")

    assert rename_reading.delay(user_id=user.pk, first_name="After").get() is None

    assert first_name(user) == "After"
    assert not PostponedTask.objects.exists()


def test_a_task_that_only_reads_is_postponed_by_a_full_interruption(window):
    interrupt(window, -1, 2)
    user = UserFactory.create(first_name="Before")

    rename_reading.delay(user_id=user.pk, first_name="After")

    assert first_name(user) == "Before"
    assert PostponedTask.objects.get().task_name == f"{__name__}.rename_reading"


def test_an_open_task_returns_what_it_returns(window):
    @gate.gated_task(Feature.INVOICES)
    def answer(*, value: int) -> int:
        return value * 2

    assert answer(value=21) == 42


def test_the_beat_job_claims_postponed_calls_skipping_those_another_one_holds(
    window, frozen, django_capture_on_commit_callbacks
):
    interrupt(window, -1, 1)
    user = UserFactory.create(first_name="Before")
    rename_writing.delay(user_id=user.pk, first_name="After")
    rename_writing.delay(user_id=user.pk, first_name="Again")
    sent: list[tuple[str, dict]] = []

    def send(name: str, *, kwargs: dict) -> None:
        sent.append((name, kwargs))

    with django_capture_on_commit_callbacks(execute=True):
        assert gate.release_due_postponed_tasks(send=send) == 0  # still closed
    frozen.move_to(NOW + HOUR, tick=False)
    with row_locks() as locks, django_capture_on_commit_callbacks(execute=True):
        assert gate.release_due_postponed_tasks(send=send) == 2

    assert locks == ["FOR UPDATE SKIP LOCKED"]
    assert sent == [
        ("tests.rename_while_invoices_write", {"user_id": user.pk, "first_name": "After"}),
        ("tests.rename_while_invoices_write", {"user_id": user.pk, "first_name": "Again"}),
    ]
    assert not PostponedTask.objects.exists()


def test_a_call_is_released_at_the_moment_asked_once_its_capability_reopened_early(
    window, django_capture_on_commit_callbacks
):
    interruption = interrupt(window, -1, 3)
    user = UserFactory.create()
    rename_writing.delay(user_id=user.pk, first_name="After")
    assert PostponedTask.objects.get().run_after == NOW + 3 * HOUR
    with django_capture_on_commit_callbacks(execute=True):  # staff shorten the interruption
        interruption.ends_at = NOW + HOUR
        interruption.save()
    sent: list[str] = []

    def send(name: str, *, kwargs: dict) -> None:
        sent.append(name)

    with django_capture_on_commit_callbacks(execute=True):
        assert gate.release_due_postponed_tasks(send=send, at=NOW + 30 * MINUTE) == 0
        assert gate.release_due_postponed_tasks(send=send, at=NOW + 2 * HOUR) == 1

    assert sent == ["tests.rename_while_invoices_write"]


# --- the end of merged interruptions and Retry-After --------------------------------------------


def test_back_to_back_interruptions_end_with_the_second(window):
    interrupt(window, -1, 1)
    interrupt(window, 1, 3)  # starts the second the first ends

    closure = gate.closure_for(Feature.INVOICES)

    assert closure is not None
    assert closure.until == NOW + 3 * HOUR
    assert closure.retry_after_seconds() == 3 * 3600
    assert [span.ends_at for span in closure.spans] == [NOW + HOUR]  # only the first is under way


def test_a_chain_of_overlapping_interruptions_is_followed_to_its_end(window):
    interrupt(window, 2.5, 5)  # third link
    interrupt(window, 7, 9)  # after a gap: not part of the chain
    interrupt(window, -1, 1)
    interrupt(window, 0.5, 3)  # second link
    interrupt(window, 3, 4)  # inside the chain: changes nothing

    closure = gate.closure_for(Feature.INVOICES)

    assert closure is not None
    assert closure.until == NOW + 5 * HOUR
    assert closure.retry_after_seconds() == 5 * 3600


def test_an_interruption_starting_after_a_gap_is_not_merged(window):
    interrupt(window, -1, 1)
    interrupt(window, 1 + 1 / 60, 3)  # one minute after the first ends

    closure = gate.closure_for(Feature.INVOICES)

    assert closure is not None
    assert closure.until == NOW + HOUR
    assert gate.is_open(Feature.INVOICES, at=NOW + HOUR)


def test_only_the_same_capability_and_the_same_kind_of_closure_extend_the_end(window):
    interrupt(window, -1, 1)
    interrupt(window, 1, 3, Feature.ONLINE_PAYMENT)  # another capability
    interrupt(window, 1, 4, scope=WRITES)  # only writing

    reading = gate.closure_for(Feature.INVOICES, write=False)
    writing = gate.closure_for(Feature.INVOICES)

    assert reading is not None and writing is not None
    assert reading.until == NOW + HOUR
    assert writing.until == NOW + 4 * HOUR


def test_a_gated_view_answers_retry_after_until_the_end_of_the_chain(client, window, settings):
    settings.ROOT_URLCONF = "tests.outages.urls"
    interrupt(window, -1, 1, Feature.ONLINE_PAYMENT)
    interrupt(window, 1, 2, Feature.ONLINE_PAYMENT)

    response = client.post(reverse("gated-online_payment"))

    assert response.status_code == 503
    assert response["Retry-After"] == str(2 * 3600)


def test_retry_after_counts_from_the_moment_asked_and_is_never_below_one_second(window):
    interrupt(window, -1, 1)
    closure = gate.closure_for(Feature.INVOICES)
    assert closure is not None

    assert closure.retry_after_seconds(NOW + 30 * MINUTE) == 30 * 60
    assert closure.retry_after_seconds(NOW + HOUR - datetime.timedelta(seconds=1)) == 1
    assert closure.retry_after_seconds(NOW + HOUR) == 1  # the end has come: ask again at once
    assert closure.retry_after_seconds(NOW + 2 * HOUR) == 1


def test_a_moment_asked_about_is_answered_for_that_moment(window):
    interrupt(window, 1, 3)

    assert gate.closure_for(Feature.INVOICES) is None
    later = gate.closure_for(Feature.INVOICES, at=NOW + 2 * HOUR)
    assert later is not None and later.until == NOW + 3 * HOUR
    assert not gate.is_open(Feature.INVOICES, at=NOW + HOUR)
    assert gate.is_open(Feature.INVOICES, at=NOW + 3 * HOUR)


# --- the snapshot: what it holds ----------------------------------------------------------------


def test_the_snapshot_holds_what_pages_need_of_each_live_interruption(window):
    interruption = InterruptionFactory.create(
        window=window,
        application_en="Billing",
        application_fr="Facturation",
        description_en="Invoices cannot be paid.",
        description_fr="Les factures ne peuvent pas être payées.",
        starts_at=NOW - HOUR,
        ends_at=NOW + HOUR,
        features=[Feature.INVOICES, Feature.ONLINE_PAYMENT],
        scope=WRITES,
    )

    (span,) = gate.snapshot().spans

    assert span == gate.InterruptionSpan(
        pk=interruption.pk,
        window_id=window.pk,
        application_en="Billing",
        application_fr="Facturation",
        description_en="Invoices cannot be paid.",
        description_fr="Les factures ne peuvent pas être payées.",
        starts_at=NOW - HOUR,
        ends_at=NOW + HOUR,
        features=frozenset({"invoices", "online_payment"}),
        read_only=True,
    )


def test_ended_and_cancelled_windows_and_ended_interruptions_are_left_out():
    live = MaintenanceWindowFactory.create(
        title_en="Live", title_fr="En cours", starts_at=NOW - HOUR, ends_at=NOW + HOUR
    )
    MaintenanceWindowFactory.create(starts_at=NOW - 3 * HOUR, ends_at=NOW - HOUR)
    MaintenanceWindowFactory.create(starts_at=NOW + HOUR, ends_at=NOW + 2 * HOUR, cancelled_at=NOW)
    ended_at_now = MaintenanceWindowFactory.create(starts_at=NOW - HOUR, ends_at=NOW)
    interrupt(live, -1, 0)  # ended just now
    current = interrupt(live, -1, 1)
    interrupt(ended_at_now, -1, 0)

    taken = gate.snapshot()

    assert [span.pk for span in taken.spans] == [current.pk]
    assert taken.windows == (
        gate.WindowSummary(
            pk=live.pk,
            title_en="Live",
            title_fr="En cours",
            starts_at=NOW - HOUR,
            ends_at=NOW + HOUR,
        ),
    )


def test_windows_come_in_order_of_their_start():
    later = MaintenanceWindowFactory.create(starts_at=NOW + 3 * HOUR)
    sooner = MaintenanceWindowFactory.create(starts_at=NOW + HOUR)

    assert [w.pk for w in gate.snapshot().windows] == [sooner.pk, later.pk]


def test_announced_windows_include_those_starting_exactly_a_week_ahead():
    week = datetime.timedelta(days=7)
    edge = MaintenanceWindowFactory.create(starts_at=NOW + week)
    MaintenanceWindowFactory.create(starts_at=NOW + week + MINUTE)

    assert [w.pk for w in gate.announced_windows()] == [edge.pk]
    assert [w.pk for w in gate.announced_windows(within=HOUR)] == []
    assert [w.pk for w in gate.announced_windows(at=NOW + week - HOUR, within=HOUR)] == [edge.pk]


def test_a_window_ending_at_the_moment_asked_is_no_longer_announced():
    window = MaintenanceWindowFactory.create(starts_at=NOW - HOUR, ends_at=NOW + HOUR)

    assert [w.pk for w in gate.announced_windows(at=NOW + HOUR - MINUTE)] == [window.pk]
    assert gate.announced_windows(at=NOW + HOUR) == []


# --- the snapshot: the shared cache -------------------------------------------------------------


def test_the_steady_state_asks_the_database_nothing_for_the_hour(
    window, frozen, django_assert_num_queries
):
    interrupt(window, -1, 11)
    cache.clear()  # a new deployment: no snapshot, no generation
    assert gate.closure_for(Feature.INVOICES) is not None  # builds and shares the snapshot

    for minutes in (0, 10, 59):
        frozen.move_to(NOW + minutes * MINUTE, tick=False)
        with django_assert_num_queries(0):
            assert gate.closure_for(Feature.INVOICES) is not None
            assert gate.announced_windows()


def test_the_snapshot_is_rebuilt_after_an_hour_at_most(window, frozen):
    interrupt(window, -1, 11)
    gate.snapshot()
    # A change the gate did not hear of (a bulk update sends no signal): it shows within the hour.
    MaintenanceWindow.objects.filter(pk=window.pk).update(cancelled_at=NOW)

    frozen.move_to(NOW + 59 * MINUTE, tick=False)
    assert not gate.is_open(Feature.INVOICES)  # still the old snapshot
    frozen.move_to(NOW + 61 * MINUTE, tick=False)
    assert gate.is_open(Feature.INVOICES)


def test_after_staff_change_the_new_snapshot_is_shared_and_lasts(
    window, frozen, django_assert_num_queries, django_capture_on_commit_callbacks
):
    interrupt(window, -1, 11)
    assert not gate.is_open(Feature.INVOICES)
    with django_capture_on_commit_callbacks(execute=True):
        window.cancelled_at = NOW
        window.save()

    assert gate.is_open(Feature.INVOICES)  # rebuilt once
    frozen.move_to(NOW + 30 * MINUTE, tick=False)
    with django_assert_num_queries(0):
        assert gate.is_open(Feature.INVOICES)


def test_every_process_agrees_on_the_generation_another_one_set(window):
    interrupt(window, -1, 1)
    cache.clear()
    cache.set(gate.GENERATION_KEY, "set-by-another-process", None)

    taken = gate.snapshot()

    assert taken.generation == "set-by-another-process"
    assert cache.get(gate.SNAPSHOT_KEY) == taken


def test_the_first_process_sets_a_generation_that_the_next_request_finds(window):
    interrupt(window, -1, 1)
    cache.clear()

    first = gate.snapshot()

    assert first.generation
    assert cache.get(gate.GENERATION_KEY) == first.generation
    assert gate.snapshot() == first


def test_invalidating_outdates_the_generation_and_drops_the_snapshot(
    window, django_capture_on_commit_callbacks
):
    interrupt(window, -1, 1)
    before = gate.snapshot()

    with django_capture_on_commit_callbacks(execute=True):
        gate.invalidate()

    assert cache.get(gate.GENERATION_KEY) not in (None, before.generation)
    assert cache.get(gate.SNAPSHOT_KEY) is None
