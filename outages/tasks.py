from celery import current_app, shared_task

from outages import gate


@shared_task
def release_postponed_tasks() -> int:
    """Beat job: re-enqueue the tasks a maintenance window postponed, once it has ended."""
    return gate.release_due_postponed_tasks(send=current_app.send_task)
