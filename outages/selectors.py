from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from outages.models import Interruption, MaintenanceWindow


def _with_interruptions(qs: QuerySet[MaintenanceWindow]) -> QuerySet[MaintenanceWindow]:
    return qs.prefetch_related(
        Prefetch("interruptions", queryset=Interruption.objects.order_by("starts_at", "pk"))
    )


def current_and_upcoming_windows() -> QuerySet[MaintenanceWindow]:
    """Windows not yet over, cancelled ones included so the page can say they were cancelled."""
    return _with_interruptions(
        MaintenanceWindow.objects.filter(ends_at__gt=timezone.now())
    ).order_by("starts_at")


def past_windows() -> QuerySet[MaintenanceWindow]:
    return _with_interruptions(
        MaintenanceWindow.objects.filter(ends_at__lte=timezone.now())
    ).order_by("-starts_at")
