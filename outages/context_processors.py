from typing import Any

from django.http import HttpRequest

from outages import gate


def maintenance_banner(request: HttpRequest) -> dict[str, Any]:
    """Windows under way or starting within 7 days, for the banner (cached: no query)."""
    return {"maintenance_announced": gate.announced_windows()}
