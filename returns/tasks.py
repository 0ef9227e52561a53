"""Returns' beat jobs: each calls one service and is safe to run twice."""

from celery import shared_task

from returns.services.charges import charge_owed_labels


@shared_task
def retry_owed_charges() -> int:
    return charge_owed_labels()
