from typing import Any

from celery import current_app, shared_task

from outages import gate, notifications


@shared_task
def release_postponed_tasks() -> int:
    """Beat job: re-enqueue the tasks a maintenance window postponed, once they may run."""
    return gate.release_due_postponed_tasks(send=enqueue)


@shared_task
def send_maintenance_notices() -> int:
    """Beat job: queue the two-day notices and the change notices owed now in the outbox, which
    sends them; returns how many were queued."""
    return notifications.queue_due_notices()


def enqueue(task_name: str, *, kwargs: dict[str, Any]) -> None:
    """Through the registered task when this process knows it, so eager settings apply."""
    task = current_app.tasks.get(task_name)
    if task is None:
        current_app.send_task(task_name, kwargs=kwargs)
    else:
        task.apply_async(kwargs=kwargs)
