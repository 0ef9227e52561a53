"""Which returns writes make cached fragments of the account's pages stale (portal.fragments):
policies, labels and their events (the forecast), the daily rollup (the report)."""

from portal.fragments import invalidate_on_account_rows
from returns.models import (
    DailyReturns,
    NotificationRecipient,
    ReturnLabel,
    ReturnPolicy,
    TrackingEvent,
)


def register() -> None:
    invalidate_on_account_rows(
        ReturnPolicy, ReturnLabel, TrackingEvent, DailyReturns, NotificationRecipient
    )
