from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import i18n as i18n_views
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

# What the probe writes to the shared cache: a cache that takes no write (out of memory, a failed
# save) is down for the portal too, since the gate and the rate limits write to it.
HEALTH_PROBE_KEY = "portal:healthz"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the shared cache and the configured broker answer; 503 otherwise.

    `checks` says "ok" or "down" for each, `problems` the error met by each one down. Every
    probe is bounded by short timeouts (the cache's in CACHES, the broker's below), so a service
    that hangs turns the answer into a 503 within seconds instead of holding it.
    """
    probes: dict[str, Callable[[], None]] = {"database": _query_database, "cache": _write_cache}
    if settings.REDIS_URL:
        probes["broker"] = _ping_broker
    problems = {}
    for name, probe in probes.items():
        try:
            probe()
        except Exception as error:  # any failure means "down"; the reason is reported
            problems[name] = type(error).__name__
    return JsonResponse(
        {
            "status": "down" if problems else "ok",
            "checks": {name: "down" if name in problems else "ok" for name in probes},
            "problems": problems,
        },
        status=503 if problems else 200,
    )


def _query_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _write_cache() -> None:
    cache.set(HEALTH_PROBE_KEY, "ok", timeout=60)


def _ping_broker() -> None:
    from portal.celery import app

    # The URL is read from the settings on each call. The socket timeouts keep a broker that does
    # not answer from holding the probe, and a web worker, for the system's TCP timeout.
    with app.connection_for_write(
        settings.CELERY_BROKER_URL,
        connect_timeout=2,
        transport_options={"socket_connect_timeout": 2, "socket_timeout": 2},
    ) as conn:
        conn.ensure_connection(max_retries=0, timeout=2)


def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, also remembered on the profile so e-mails follow the choice."""
    response = i18n_views.set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        # request.user is a lazy proxy: type() of it is not the user model.
        get_user_model().objects.filter(pk=request.user.pk).update(language=language)
    return response
