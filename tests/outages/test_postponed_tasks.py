"""A task that needs a closed capability is postponed, never dropped, and runs after the end."""

import datetime

import pytest
from celery import shared_task
from django.contrib.auth import get_user_model
from django.utils import timezone

from outages import gate, services, tasks
from outages.features import Feature
from outages.models import PostponedTask
from tests.outages.factories import HOUR, closing

pytestmark = pytest.mark.django_db
SECOND = datetime.timedelta(seconds=1)


@shared_task
@gate.gated_task(Feature.PAYMENT_METHODS)
def rename_user(*, user_id: int, first_name: str) -> None:
    """Stands for a task that offers a capability: its effect is easy to see."""
    get_user_model().objects.filter(pk=user_id).update(first_name=first_name)


def first_name(user) -> str:
    user.refresh_from_db()
    return user.first_name


def test_the_task_runs_at_once_when_its_capability_is_open(user):
    rename_user.delay(user_id=user.pk, first_name="Open")

    assert first_name(user) == "Open"
    assert not PostponedTask.objects.exists()


def test_a_postponed_task_runs_once_the_window_is_over(user, django_capture_on_commit_callbacks):
    interruption = closing(Feature.PAYMENT_METHODS)

    rename_user.delay(user_id=user.pk, first_name="Later")

    postponed = PostponedTask.objects.get()
    assert postponed.task_name == rename_user.name
    assert postponed.kwargs == {"user_id": user.pk, "first_name": "Later"}
    assert postponed.run_after == interruption.ends_at
    assert first_name(user) != "Later"

    # Still closed: the beat job keeps it.
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.release_postponed_tasks.delay().get() == 0
    assert PostponedTask.objects.count() == 1

    # Staff end the window now; the next beat run releases the task and it runs.
    with django_capture_on_commit_callbacks(execute=True):
        services.reschedule_window(
            window=interruption.window,
            starts_at=interruption.window.starts_at,
            ends_at=timezone.now(),
            actor=None,
        )
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.release_postponed_tasks.delay().get() == 1

    assert first_name(user) == "Later"
    assert not PostponedTask.objects.exists()


def test_a_postponed_task_is_due_at_the_end_it_was_told(django_capture_on_commit_callbacks):
    closing(Feature.PAYMENT_METHODS)
    rename_user.delay(user_id=1, first_name="x")
    run_after = PostponedTask.objects.get().run_after
    sent: list[tuple[str, dict]] = []

    def send(name: str, *, kwargs: dict) -> None:
        sent.append((name, kwargs))

    with django_capture_on_commit_callbacks(execute=True):
        early = gate.release_due_postponed_tasks(send=send, at=run_after - SECOND)
    with django_capture_on_commit_callbacks(execute=True):
        due = gate.release_due_postponed_tasks(send=send, at=run_after)

    assert (early, due) == (0, 1)
    assert sent == [(rename_user.name, {"user_id": 1, "first_name": "x"})]
    assert not PostponedTask.objects.exists()


def test_a_released_task_meets_the_gate_again_when_the_window_was_extended(
    user, django_capture_on_commit_callbacks
):
    interruption = closing(Feature.PAYMENT_METHODS)
    rename_user.delay(user_id=user.pk, first_name="Later")
    PostponedTask.objects.update(run_after=timezone.now() - HOUR)  # told an earlier end

    with django_capture_on_commit_callbacks(execute=True):
        tasks.release_postponed_tasks.delay()

    assert first_name(user) != "Later"
    assert PostponedTask.objects.get().run_after == interruption.ends_at
