"""The returns models; import them from here."""

from returns.models.labels import DailyReturns, ReturnLabel, TrackingEvent
from returns.models.notifications import NotificationRecipient
from returns.models.policies import Channel, ReturnPolicy, ShippingService

__all__ = [
    "Channel",
    "DailyReturns",
    "NotificationRecipient",
    "ReturnLabel",
    "ReturnPolicy",
    "ShippingService",
    "TrackingEvent",
]
