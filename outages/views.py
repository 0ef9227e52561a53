"""The public status pages and the feeds: open to everyone, even during a sign-in interruption."""

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.functional import SimpleLazyObject
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
STATUS_PAGE_SIZE = 10


@require_GET
def status(request: HttpRequest) -> HttpResponse:
    """Current and upcoming windows, a page at a time: the page stays the same size however
    many are planned."""
    return _paged_windows(
        request,
        "outages/status.html",
        lambda: Paginator(selectors.current_and_upcoming_windows(), STATUS_PAGE_SIZE),
        STATUS_TABLES_CACHE_SECONDS,
    )


# The archive: a page that has just ended reaches it within a minute.
ARCHIVE_CACHE_SECONDS = 60


@require_GET
def archive(request: HttpRequest) -> HttpResponse:
    return _paged_windows(
        request,
        "outages/archive.html",
        lambda: Paginator(selectors.past_windows(), ARCHIVE_PAGE_SIZE),
        ARCHIVE_CACHE_SECONDS,
    )


def _paged_windows(
    request: HttpRequest,
    template: str,
    paginator: Callable[[], Paginator],
    cache_seconds: int,
) -> HttpResponse:
    """A public page of windows whose tables the template caches per page, language and
    generation: the database is read only when they are not in the cache. A signed-out
    visitor's page is served whole from the cache."""
    generation = gate.snapshot().generation
    number = _page_number(template, paginator, request.GET.get("page"), generation, cache_seconds)
    page = SimpleLazyObject(lambda: paginator().page(number))
    context = {
        "page": page,
        "windows": SimpleLazyObject(lambda: page.object_list),
        "number": number,
        "generation": generation,
        "cache_seconds": cache_seconds,
    }
    if not _same_for_every_visitor(request):
        return render(request, template, context)
    return _everyones_copy(request, template, context, cache_seconds)


def _everyones_copy(
    request: HttpRequest, template: str, context: dict[str, Any], cache_seconds: int
) -> HttpResponse:
    """The page as every signed-out visitor sees it, rendered once per page, language and
    maintenance state (so a window starting changes the header's buttons at once)."""
    number = context["number"]
    key = f"outages_page:{template}:{gate.state_token()}:{number}:{translation.get_language()}"
    body = cache.get(key)
    if body is None:
        # The header's language form comes back to this page: to its canonical address, so
        # one copy serves every spelling of `?page=`.
        back_to = request.path if number == 1 else f"{request.path}?page={number}"
        context |= {"csrf_token": CSRF_SLOT, "language_next": back_to}
        body = render(request, template, context).content.decode()
        cache.set(key, body, cache_seconds)
    return _with_visitor_token(request, body)


# A signed-out visitor's page differs from everyone else's only by the CSRF token of the
# header's language form: cached with this slot in its place, each visitor's own written in.
CSRF_SLOT = "csrf-slot-for-this-visitor"


def _same_for_every_visitor(request: HttpRequest) -> bool:
    """Signed out, with no message waiting to be shown: the header and body are everyone's."""
    return (
        settings.PORTAL_FRAGMENT_CACHE
        and not request.user.is_authenticated
        and not len(messages.get_messages(request))
    )


def _with_visitor_token(request: HttpRequest, body: str) -> HttpResponse:
    response = HttpResponse(body.replace(CSRF_SLOT, get_token(request)))
    patch_vary_headers(response, ["Cookie"])  # a signed-in visitor gets another page
    return response


def _page_number(
    template: str,
    paginator: Callable[[], Paginator],
    asked: str | None,
    generation: str,
    cache_seconds: int,
) -> int:
    """The page `Paginator.get_page` would show: 1 for junk, the last one when out of range.

    Resolved against a cached page count, so any number asked maps to a cached page: varying
    `?page=` cannot make every request a database read.
    """
    page_count: int = (
        cache.get_or_set(
            f"outages_pages:{template}:{generation}",
            lambda: paginator().num_pages,
            cache_seconds,
        )
        or 1
    )
    try:
        number = int(asked or "")
    except ValueError:
        return 1
    return number if 1 <= number <= page_count else page_count


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
    response = feeds.WindowAtomFeed(request=request)(request)
    # The feed writer leaves one chunk per XML fragment (thousands at 200 windows), each cached
    # and then written to the socket on its own: joined once here, before cache_page keeps it.
    response.content = response.content
    return response


@require_GET
@cache_page(FEED_CACHE_SECONDS)
@in_requested_language
def interruptions_json(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(feeds.interruptions_document(request))
    response["Access-Control-Allow-Origin"] = "*"  # public data, for monitoring dashboards
    return response
