"""The error pages: 500 for a fault, 503 while the database cannot be reached.

Both render without a request (templates/portal/error_layout.html): no context processor runs,
so neither the user, the session, the gate nor the database is read, since any of them may be
what failed. A database outage is a 503 with Retry-After, not a 500: nothing is wrong with the
request and trying again shortly is the right thing to do.
"""

import logging
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

# What the database driver raises when the server is down, restarting or unreachable.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER_SECONDS = 30


def _context() -> dict[str, str]:
    return {"help_desk_phone": settings.PORTAL_HELP_DESK_PHONE}


def database_unavailable_response() -> HttpResponse:
    """The 503 page, with a Retry-After the browser and any proxy can act on."""
    response = HttpResponse(render_to_string("503.html", _context()), status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500. A database outage met outside a view (in a middleware reading the session or
    the gate, say) reaches here rather than DatabaseUnavailableMiddleware: it answers 503 too."""
    error = sys.exc_info()[1]
    if isinstance(error, DATABASE_UNAVAILABLE):
        return database_unavailable_response()
    return HttpResponseServerError(render_to_string("500.html", _context()))


def log_database_unavailable(request: HttpRequest, error: BaseException) -> None:
    # Answered as a 503 rather than raised, so Django's own error log never sees it: say it here.
    logger.error(
        "Database unavailable: %s %s answered 503",
        request.method,
        request.path,
        exc_info=(type(error), error, error.__traceback__),
    )
