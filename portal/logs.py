"""Structured logs: one line per event, JSON in production and readable text on a developer's
console, with the request id (django-structlog) on every line a request or its tasks write.

Both kinds of logger go through the same formatter: structlog's own (`structlog.get_logger`) and
the standard library's (Django, Celery, allauth...). Its last step before rendering blanks
secrets (portal.redaction), so no handler ever sees a password, a token or a card number.
"""

from collections.abc import Callable
from typing import Any

import structlog
from django.http import HttpRequest, HttpResponse
from structlog.typing import EventDict, Processor, WrappedLogger

from portal.redaction import redact

REQUEST_ID_HEADER = "X-Request-ID"

# Added to a standard-library record before the formatter renders it, as structlog's own
# processors do for its events: the request id, the logger's name, the level and the time.
SHARED_PROCESSORS: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def add_request_id_of_record(
    _logger: WrappedLogger, _method: str, event_dict: EventDict
) -> EventDict:
    """Django logs a 4xx or 5xx response ("Not Found: ...") after the middleware has answered,
    when the request's context is cleared: its id is then read from the request it names."""
    record = event_dict.get("_record")
    request_id = getattr(getattr(record, "request", None), "request_id", None)
    if request_id and "request_id" not in event_dict:
        event_dict["request_id"] = request_id
    return event_dict


def redact_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: the event with every secret blanked (portal.redaction)."""
    return redact(event_dict)  # type: ignore[no-any-return]


def renderer(log_format: str) -> Processor:
    if log_format == "json":
        return structlog.processors.JSONRenderer()
    return structlog.dev.ConsoleRenderer(colors=False)


def formatter(log_format: str) -> dict[str, Any]:
    """The dictConfig entry of the one formatter every handler uses."""
    return {
        "()": structlog.stdlib.ProcessorFormatter,
        "foreign_pre_chain": [*SHARED_PROCESSORS, add_request_id_of_record],
        "processors": [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,  # the traceback becomes text, then is redacted
            redact_secrets,
            renderer(log_format),
        ],
    }


def configure_structlog() -> None:
    """structlog hands each event to the standard library, whose levels and handlers decide."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def logging_config(*, log_format: str, level: str, console_level: str = "NOTSET") -> dict:
    """settings.LOGGING: everything to standard error through the structured formatter.

    `console_level` quiets the console (the test settings) without hiding records from other
    handlers such as pytest's caplog or tests/log_scan.py.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": formatter(log_format)},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "structured",
                "level": console_level,
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Libraries that narrate every request or glyph at INFO: their warnings are enough
            # (and WeasyPrint's advice about font subsetting libraries is not an error either).
            **{name: {"level": "WARNING"} for name in ("stripe", "fontTools")},
            "weasyprint": {"level": "ERROR"},
            # Django's own handlers (a raw console line when DEBUG, mails to ADMINS) are
            # replaced: its records reach the root's structured, redacted handler only.
            "django": {"handlers": [], "level": "INFO", "propagate": True},
            # django-structlog's request_started/request_finished replace runserver's line.
            "django.server": {"handlers": [], "level": "WARNING", "propagate": True},
        },
    }


class RequestIdHeaderMiddleware:
    """Sends the request id django-structlog gave the request back as X-Request-ID, so a person
    reporting a problem (or a proxy's access log) can quote the id that finds its log lines.

    Sits after django_structlog's RequestMiddleware, which binds the id first and clears it only
    once this has answered.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = structlog.contextvars.get_contextvars().get("request_id")
        request.request_id = request_id  # type: ignore[attr-defined]  # add_request_id_of_record
        response = self.get_response(request)
        if request_id:
            response[REQUEST_ID_HEADER] = request_id
        return response
