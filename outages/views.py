"""The public status pages and the feeds: open to everyone, even during a sign-in interruption."""

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import cache_page
from django.views.decorators.http import require_GET

from outages import feeds, gate, selectors

# Feeds are polled by calendar apps and monitors: a minute of staleness spares the database.
FEED_CACHE_SECONDS = 60
ARCHIVE_PAGE_SIZE = 20

View = Callable[..., HttpResponse]


def in_requested_language(view: View) -> View:
    """`?lang=fr`: calendar apps and scripts send no language of their own.

    The response says which language it is in: set here, inside `cache_page`, so the cached
    copy keeps it (LocaleMiddleware would label a `?lang=fr` body with the request's language).
    `cache_page` keys on the full URL and the request's language, so each language is cached
    apart.
    """

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language = request.GET.get("lang", "")
        if language not in dict(settings.LANGUAGES):
            language = translation.get_language() or settings.LANGUAGE_CODE
        with translation.override(language):
            response = view(request, *args, **kwargs)
        response["Content-Language"] = language
        return response

    return wrapped


# The tables are the same for everyone: rendered once per language and snapshot generation (so
# a staff change shows at once), and at most this old, so a window's state follows the clock.
STATUS_TABLES_CACHE_SECONDS = 30


@require_GET
def status(request: HttpRequest) -> HttpResponse:
    context = {
        "windows": selectors.current_and_upcoming_windows(),  # lazy: unread when cached
        "generation": gate.snapshot().generation,
        "cache_seconds": STATUS_TABLES_CACHE_SECONDS,
    }
    return render(request, "outages/status.html", context)


@require_GET
def archive(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.past_windows(), ARCHIVE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "outages/archive.html", {"windows": page.object_list, "page": page})


@require_GET
@cache_page(FEED_CACHE_SECONDS)
@in_requested_language
def ical(request: HttpRequest) -> HttpResponse:
    body = feeds.calendar_bytes(request, list(selectors.feed_windows()))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="service-interruptions.ics"'
    return response


@require_GET
@cache_page(FEED_CACHE_SECONDS)
@in_requested_language
def atom(request: HttpRequest) -> HttpResponse:
    return feeds.WindowAtomFeed(request=request)(request)


@require_GET
@cache_page(FEED_CACHE_SECONDS)
@in_requested_language
def interruptions_json(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(feeds.interruptions_document(request))
    response["Access-Control-Allow-Origin"] = "*"  # public data, for monitoring dashboards
    return response
