"""Billing's beat jobs: each calls one service and is safe to run twice."""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from billing import services


@shared_task
def close_month() -> int:
    return len(services.close_month(now=timezone.now()))


@shared_task
def issue_statements() -> int:
    return len(services.issue_statements(now=timezone.now()))


@shared_task
def mark_overdue() -> int:
    return services.mark_overdue(today=timezone.localdate())


@shared_task
def expire_cards() -> dict[str, int]:
    return services.expire_cards(
        today=timezone.localdate(), warn_days=settings.BILLING_EXPIRY_WARNING_DAYS
    )


@shared_task
def find_upgrade_candidates() -> int:
    return len(services.find_upgrade_candidates(today=timezone.localdate()))
