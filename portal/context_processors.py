from typing import Any

from django.conf import settings
from django.http import HttpRequest


def portal(request: HttpRequest) -> dict[str, Any]:
    return {"help_desk_phone": settings.PORTAL_HELP_DESK_PHONE}
