"""Cache invalidation only: any saved or deleted window or interruption drops the gate snapshot."""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from outages import gate
from outages.models import Interruption, MaintenanceWindow


@receiver([post_save, post_delete], sender=MaintenanceWindow)
@receiver([post_save, post_delete], sender=Interruption)
def drop_gate_snapshot(sender: type, **kwargs: Any) -> None:
    gate.invalidate()
