"""Returns' beat jobs: each calls one service and is safe to run twice."""

import time

from celery import shared_task

from returns.services import tracking
from returns.services.charges import charge_owed_labels

# A run stops starting labels after this long, well under CELERY_TASK_SOFT_TIME_LIMIT: a time
# limit raised inside a label's transaction left the worker process's connection unusable for
# every task after it (found by the benchmark's burst of 10,000 events).
APPLY_SECONDS = 60.0


@shared_task
def apply_pending_events() -> int:
    """Every minute, and after each batch received: apply the stored tracking events (none while
    tracking ingestion is closed for maintenance; they wait, and this applies them after). A run
    that stopped for time hands the rest to a run of its own at once."""
    started = time.monotonic()
    applied = tracking.apply_pending_events(seconds=APPLY_SECONDS)
    if time.monotonic() - started >= APPLY_SECONDS and tracking.events_pending():
        apply_pending_events.delay()
    return applied


@shared_task
def retry_owed_charges() -> int:
    return charge_owed_labels()


@shared_task
def send_daily_summaries() -> int:
    """Hourly at :05 UTC: once the Eastern digest hour has come, the previous day's summaries to
    the daily notification recipients (each recipient and day once, however often it runs)."""
    from django.utils import timezone

    from returns import notifications

    return notifications.send_daily_summaries(timezone.now())
