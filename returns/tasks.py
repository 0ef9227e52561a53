"""Returns' beat jobs: each calls one service and is safe to run twice."""

from celery import shared_task

from returns.services import tracking
from returns.services.charges import charge_owed_labels


@shared_task
def apply_pending_events() -> int:
    """Every minute, and after each batch received: apply the stored tracking events (none while
    tracking ingestion is closed for maintenance; they wait, and this applies them after)."""
    return tracking.apply_pending_events()


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
