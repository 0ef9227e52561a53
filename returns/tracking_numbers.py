"""Returns' tracking numbers are the portal's S10 numbers (portal.tracking_numbers)."""

from portal.tracking_numbers import (
    SERVICE_PREFIX,
    WEIGHTS,
    check_digit,
    is_valid,
    new_tracking_number,
    tracking_number,
)

__all__ = [
    "SERVICE_PREFIX",
    "WEIGHTS",
    "check_digit",
    "is_valid",
    "new_tracking_number",
    "tracking_number",
]
