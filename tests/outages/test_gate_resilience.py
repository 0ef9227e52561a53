"""The gate when the shared cache is slow to ask, outdated, or down: one read per request at
most, the process's own copy for a bounded time, the database after that, open with neither.

The cache is the in-memory one behind `FaultyCache`, which counts what reaches it and raises
redis-py's ConnectionError on demand. Time is frozen: each age is a move of the clock.
"""

import contextlib
import dataclasses
import datetime
import logging
from collections.abc import Iterator
from typing import NoReturn

import pytest
from django.core.cache import caches
from django.db import OperationalError, connection
from django.urls import reverse

from outages import gate
from outages.features import Feature
from outages.models import Interruption, MaintenanceWindow, PostponedTask
from portal.formatting import EASTERN
from tests.cache_faults import FaultyCache
from tests.factories import UserFactory
from tests.outages.factories import HOUR, closing

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2031, 3, 10, 9, 30, tzinfo=EASTERN)
MINUTE = datetime.timedelta(minutes=1)
GENERATION, SNAPSHOT = gate.GENERATION_KEY, gate.SNAPSHOT_KEY
CACHE_FAILED = (
    "The shared cache failed (ConnectionError): the gate reads its own copy or the database."
)
BOTH_FAILED = (
    "The gate could read neither the cache nor the database (OperationalError): it stays open."
)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def shared(settings) -> FaultyCache:
    settings.CACHES = {"default": {"BACKEND": "tests.cache_faults.FaultyCache"}}
    backend = caches["default"]
    assert isinstance(backend, FaultyCache)
    return backend


@pytest.fixture
def closed_invoices(shared: FaultyCache) -> MaintenanceWindow:
    """Invoices closed for two hours; the first check builds and shares the snapshot."""
    window = closing(Feature.INVOICES, starts_at=NOW - HOUR, ends_at=NOW + HOUR).window
    assert not gate.is_open(Feature.INVOICES)
    shared.operations.clear()
    return window


def at(frozen, seconds: float) -> None:
    frozen.move_to(NOW + datetime.timedelta(seconds=seconds), tick=False)


@contextlib.contextmanager
def database_down() -> Iterator[None]:
    def refuse(*args: object, **kwargs: object) -> NoReturn:
        raise OperationalError("could not connect to server")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(connection, "cursor", refuse)
        yield


def gate_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "outages.gate"]


# --- the steady state: one small read per request at most, no query ----------------------------


def test_a_page_reads_the_shared_cache_once_and_asks_the_database_nothing(
    client, shared, closed_invoices, frozen, django_assert_num_queries
):
    at(frozen, 5)  # the process copy needs confirming again

    with django_assert_num_queries(0):
        response = client.get(reverse("account_login"))  # the middleware's check, the banner

    assert response.status_code == 200
    assert b"Planned maintenance" in response.content
    assert shared.reads() == [GENERATION]  # the short string, not the whole snapshot


def test_each_signed_in_page_reads_once(client, shared, closed_invoices, frozen):
    client.force_login(UserFactory.create())

    for seconds in (5, 10):
        at(frozen, seconds)
        response = client.get(reverse("home"))
        assert response.status_code == 200
        assert b"Planned maintenance" in response.content

    assert shared.reads() == [GENERATION, GENERATION]


def test_within_a_second_of_the_last_read_no_request_reads_the_cache(
    client, shared, closed_invoices, frozen
):
    at(frozen, 0.9)

    assert client.get(reverse("account_login")).status_code == 200

    assert shared.touches() == 0


def test_the_process_copy_is_trusted_for_a_second_then_confirmed(shared, closed_invoices, frozen):
    assert not gate.is_open(Feature.INVOICES)  # the same instant
    at(frozen, gate.CONFIRM_SECONDS - 0.001)
    assert not gate.is_open(Feature.INVOICES)
    assert shared.touches() == 0

    at(frozen, gate.CONFIRM_SECONDS)
    assert not gate.is_open(Feature.INVOICES)
    assert gate.announced_windows()  # confirmed again just now: no second read
    assert shared.reads() == [GENERATION]


def test_a_clock_that_went_back_makes_the_copy_confirmed_again(shared, closed_invoices, frozen):
    at(frozen, -5)

    assert not gate.is_open(Feature.INVOICES)

    assert shared.reads() == [GENERATION, SNAPSHOT]  # ages below zero are not trusted


def test_checks_inside_one_request_share_its_snapshot_however_long_it_lasts(
    shared, closed_invoices, frozen
):
    at(frozen, 5)
    with gate.one_snapshot_per_request():
        assert not gate.is_open(Feature.INVOICES)
        at(frozen, 50)  # a slow page: the process copy would need confirming again
        assert not gate.is_open(Feature.INVOICES)
        assert gate.announced_windows()
    assert shared.reads() == [GENERATION]

    assert not gate.is_open(Feature.INVOICES)  # outside the request: asked again

    assert shared.reads() == [GENERATION, GENERATION]


def test_outside_a_request_each_check_after_the_second_reads_again(shared, closed_invoices, frozen):
    for seconds in (5, 10):
        at(frozen, seconds)
        assert not gate.is_open(Feature.INVOICES)

    assert shared.reads() == [GENERATION, GENERATION]


def test_a_staff_change_inside_a_request_is_seen_by_the_rest_of_it(
    shared, closed_invoices, django_capture_on_commit_callbacks
):
    with gate.one_snapshot_per_request():
        assert not gate.is_open(Feature.INVOICES)
        with django_capture_on_commit_callbacks(execute=True):
            closed_invoices.cancelled_at = NOW
            closed_invoices.save()
        assert gate.is_open(Feature.INVOICES)
        assert gate.announced_windows() == []


# --- another process's change ------------------------------------------------------------------


def test_a_change_committed_by_another_process_is_seen_within_a_second(
    shared, closed_invoices, frozen, django_assert_num_queries
):
    # Another process cancels the window and moves the generation on; the old snapshot stays.
    MaintenanceWindow.objects.filter(pk=closed_invoices.pk).update(cancelled_at=NOW)
    shared.set(GENERATION, "after-the-change", None)

    at(frozen, 0.5)
    assert not gate.is_open(Feature.INVOICES)  # this process's copy, a second at most
    at(frozen, 1)
    assert gate.is_open(Feature.INVOICES)  # the old snapshot has the old generation: rebuilt

    assert shared.reads() == [GENERATION, SNAPSHOT]
    shared.operations.clear()
    at(frozen, 3)
    with django_assert_num_queries(0):
        assert gate.is_open(Feature.INVOICES)
    assert shared.reads() == [GENERATION]


def test_a_snapshot_another_process_shared_is_taken_without_a_query(
    shared, closed_invoices, frozen, django_assert_num_queries
):
    current = shared.get(SNAPSHOT)
    shared.set(GENERATION, "next", None)
    shared.set(SNAPSHOT, dataclasses.replace(current, generation="next", spans=()), None)
    at(frozen, 2)

    with django_assert_num_queries(0):
        assert gate.is_open(Feature.INVOICES)


def test_a_new_process_takes_the_shared_snapshot_without_a_query(
    shared, closed_invoices, django_assert_num_queries
):
    gate.forget_process_copy()

    with django_assert_num_queries(0):
        assert not gate.is_open(Feature.INVOICES)

    assert shared.reads() == [GENERATION, SNAPSHOT]


def test_a_cache_that_lost_everything_is_filled_again(
    shared, closed_invoices, frozen, django_assert_num_queries
):
    shared.clear()  # a Redis restarted without its data
    at(frozen, 2)

    with django_assert_num_queries(2):
        assert not gate.is_open(Feature.INVOICES)

    generation = shared.get(GENERATION)
    assert generation
    assert shared.get(SNAPSHOT).generation == generation


def test_the_process_copy_is_rebuilt_once_the_hour_of_the_snapshot_is_over(
    shared, closed_invoices, frozen, django_assert_num_queries
):
    # A change no signal told of (a bulk update): the hour bounds it in every process.
    MaintenanceWindow.objects.filter(pk=closed_invoices.pk).update(cancelled_at=NOW)
    at(frozen, gate.SNAPSHOT_SECONDS - 1)
    with django_assert_num_queries(0):
        assert not gate.is_open(Feature.INVOICES)
    at(frozen, gate.SNAPSHOT_SECONDS)

    assert gate.is_open(Feature.INVOICES)
    assert shared.reads() == [GENERATION, GENERATION, SNAPSHOT]


# --- the shared cache down ---------------------------------------------------------------------


def test_with_the_cache_down_the_process_copy_keeps_answering_for_five_minutes(
    shared, closed_invoices, frozen, django_assert_num_queries, caplog
):
    shared.down = True
    at(frozen, 2)
    with django_assert_num_queries(0):
        assert not gate.is_open(Feature.INVOICES)
    at(frozen, gate.STALE_SECONDS - 0.001)  # since the copy was last confirmed, at NOW
    with django_assert_num_queries(0):
        assert not gate.is_open(Feature.INVOICES)

    assert CACHE_FAILED in gate_warnings(caplog)


def test_after_five_minutes_without_the_cache_the_database_answers(
    shared, closed_invoices, frozen, django_assert_num_queries
):
    MaintenanceWindow.objects.filter(pk=closed_invoices.pk).update(cancelled_at=NOW)
    shared.down = True
    at(frozen, gate.STALE_SECONDS)

    with django_assert_num_queries(2):
        assert gate.is_open(Feature.INVOICES)
    assert gate.snapshot().generation == ""  # none the cache holds: replaced once it is back
    for seconds in (1, 5):  # the copy the database gave, while the cache is left alone
        at(frozen, gate.STALE_SECONDS + seconds)
        with django_assert_num_queries(0):
            assert gate.is_open(Feature.INVOICES)


def test_a_process_without_a_copy_answers_from_the_database_when_the_cache_is_down(
    client, shared, frozen, django_assert_num_queries, caplog
):
    closing(Feature.SIGN_IN, starts_at=NOW - HOUR, ends_at=NOW + HOUR)
    shared.down = True

    response = client.get(reverse("account_login"))

    assert response.status_code == 503  # the sign-in interruption, as the database says
    assert b"Temporarily unavailable for maintenance" in response.content
    assert gate_warnings(caplog) == [CACHE_FAILED]
    at(frozen, 5)
    with django_assert_num_queries(0):  # the database's answer, kept while the cache rests
        assert client.get(reverse("account_login")).status_code == 503


def test_pages_answer_with_the_banner_while_the_cache_is_down(client, shared, frozen):
    closing(Feature.INVOICES, starts_at=NOW + HOUR, ends_at=NOW + 2 * HOUR)
    client.force_login(UserFactory.create())
    shared.down = True

    for seconds in (0, 30, gate.STALE_SECONDS + 1):
        at(frozen, seconds)
        response = client.get(reverse("home"))
        assert response.status_code == 200
        assert b"Planned maintenance" in response.content


def test_after_a_failure_the_cache_is_left_alone_for_ten_seconds(shared, closed_invoices, frozen):
    shared.down = True
    at(frozen, 2)
    assert not gate.is_open(Feature.INVOICES)
    assert shared.touches() == 1

    at(frozen, 2 + gate.CACHE_REST_SECONDS - 0.001)
    assert not gate.is_open(Feature.INVOICES)
    assert shared.touches() == 1  # a hanging Redis would cost every request its timeout
    at(frozen, 2 + gate.CACHE_REST_SECONDS)
    assert not gate.is_open(Feature.INVOICES)
    assert shared.touches() == 2


def test_the_cache_is_asked_again_once_back_and_its_snapshot_used(
    shared, closed_invoices, frozen, django_assert_num_queries
):
    shared.down = True
    at(frozen, gate.STALE_SECONDS)
    assert not gate.is_open(Feature.INVOICES)  # built from the database
    shared.down = False
    shared.operations.clear()
    at(frozen, gate.STALE_SECONDS + gate.CACHE_REST_SECONDS)

    with django_assert_num_queries(0):
        assert not gate.is_open(Feature.INVOICES)

    # The database's copy carries no generation: the shared snapshot replaces it.
    assert shared.reads() == [GENERATION, SNAPSHOT]
    at(frozen, gate.STALE_SECONDS + gate.CACHE_REST_SECONDS + 2)
    assert not gate.is_open(Feature.INVOICES)
    assert shared.reads() == [GENERATION, SNAPSHOT, GENERATION]


def test_the_warning_is_logged_once_a_minute_at_most(shared, closed_invoices, frozen, caplog):
    shared.down = True
    for seconds in (2, 50, 2 + gate.WARN_EVERY_SECONDS):  # each one asks the cache
        at(frozen, seconds)
        gate.is_open(Feature.INVOICES)

    assert gate_warnings(caplog) == [CACHE_FAILED, CACHE_FAILED]
    assert all(r.levelno == logging.WARNING for r in caplog.records if r.name == "outages.gate")


def test_a_warning_from_a_clock_that_went_back_does_not_silence_the_next(
    shared, closed_invoices, frozen, caplog
):
    shared.down = True
    at(frozen, 100)
    gate.is_open(Feature.INVOICES)
    at(frozen, 50)  # the clock stepped back

    gate.is_open(Feature.INVOICES)

    assert gate_warnings(caplog) == [CACHE_FAILED, CACHE_FAILED]


# --- neither cache nor database ----------------------------------------------------------------


def test_with_neither_cache_nor_database_and_no_copy_the_gate_fails_open(shared, caplog):
    closing(Feature.INVOICES, starts_at=NOW + HOUR, ends_at=NOW + 2 * HOUR)
    shared.down = True

    with database_down():
        assert gate.is_open(Feature.INVOICES, at=NOW + 90 * MINUTE)
        assert gate.announced_windows() == []
        assert gate.snapshot() == gate.Snapshot(spans=(), windows=())

    assert gate_warnings(caplog) == [CACHE_FAILED, BOTH_FAILED]  # each once a minute at most


def test_with_neither_the_last_copy_however_old_is_better_than_nothing(
    shared, closed_invoices, frozen, caplog
):
    shared.down = True
    at(frozen, gate.STALE_SECONDS)

    with database_down():
        assert not gate.is_open(Feature.INVOICES)

    assert BOTH_FAILED in gate_warnings(caplog)


def test_without_the_database_nothing_is_remembered_so_it_is_asked_again(
    shared, django_assert_num_queries
):
    closing(Feature.INVOICES, starts_at=NOW - HOUR, ends_at=NOW + HOUR)
    shared.down = True
    with database_down():
        assert gate.is_open(Feature.INVOICES)

    with django_assert_num_queries(2):  # the database is back: it answers at once
        assert not gate.is_open(Feature.INVOICES)


# --- a staff change while the cache is down ----------------------------------------------------


def test_a_staff_change_while_the_cache_is_down_is_seen_by_every_process(
    shared, closed_invoices, frozen, django_capture_on_commit_callbacks
):
    before = shared.get(GENERATION)
    shared.down = True
    with django_capture_on_commit_callbacks(execute=True):  # the admin's save does not fail
        closed_invoices.cancelled_at = NOW
        closed_invoices.save()

    assert gate.is_open(Feature.INVOICES)  # this process: from the database at once
    shared.down = False
    at(frozen, gate.CACHE_REST_SECONDS)
    assert gate.is_open(Feature.INVOICES)  # back: the change is told to the cache now

    after = shared.get(GENERATION)
    assert after not in (None, before)  # every process holding the old snapshot drops it
    assert shared.get(SNAPSHOT).generation == after
    at(frozen, gate.CACHE_REST_SECONDS + 2)
    assert gate.is_open(Feature.INVOICES)
    assert shared.get(GENERATION) == after  # told once, not on every read


def test_a_staff_change_while_the_cache_is_down_leaves_it_alone_for_a_while(
    shared, closed_invoices, frozen, django_capture_on_commit_callbacks, caplog
):
    shared.down = True
    with django_capture_on_commit_callbacks(execute=True):
        closed_invoices.cancelled_at = NOW
        closed_invoices.save()
    touched = shared.touches()

    at(frozen, gate.CACHE_REST_SECONDS - 1)
    assert gate.is_open(Feature.INVOICES)

    assert shared.touches() == touched
    assert gate_warnings(caplog) == [CACHE_FAILED]


def test_a_snapshot_the_cache_would_not_take_is_still_answered(shared, monkeypatch, caplog):
    closing(Feature.INVOICES, starts_at=NOW - HOUR, ends_at=NOW + HOUR)

    def refuse(*args: object, **kwargs: object) -> NoReturn:
        raise TimeoutError("Timeout reading from socket")

    monkeypatch.setattr(shared, "set", refuse)

    assert not gate.is_open(Feature.INVOICES)
    assert gate_warnings(caplog) == [CACHE_FAILED.replace("ConnectionError", "TimeoutError")]


# --- what a check means when it says nothing more ----------------------------------------------


def test_a_check_is_about_writing_unless_told_otherwise(shared):
    closing(Feature.INVOICES, scope=Interruption.Scope.WRITES)

    assert not gate.is_open(Feature.INVOICES)
    assert gate.is_open(Feature.INVOICES, write=False)


def test_a_gated_task_writes_and_is_named_after_its_function_unless_told_otherwise(shared):
    closing(Feature.INVOICES, scope=Interruption.Scope.WRITES)

    @gate.gated_task(Feature.INVOICES)
    def archive_invoices(*, account_id: int) -> None:
        raise AssertionError("postponed: it must not run")

    assert archive_invoices(account_id=7) is None

    postponed = PostponedTask.objects.get()
    assert postponed.task_name == f"{__name__}.archive_invoices"
    assert postponed.kwargs == {"account_id": 7}
