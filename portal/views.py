import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import i18n as i18n_views
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.cache import without_fallback

# What the probe writes to the shared cache: a cache that takes no write (out of memory, a failed
# save) is down for the portal too, since the gate and the rate limits write to it.
HEALTH_PROBE_KEY = "portal:healthz"


@dataclass(frozen=True)
class Readiness:
    status: int
    body: dict[str, Any]
    until: float  # time.monotonic() after which it is probed again


# This process's last readiness answer (each web worker keeps its own): a load balancer polling
# every second, or anyone else, costs the database and the cache one probe per worker per
# PORTAL_HEALTH_CACHE_SECONDS, whatever the rate.
_last_readiness: Readiness | None = None


def forget_readiness() -> None:
    """The next readiness request probes again, as in a newly started worker."""
    global _last_readiness
    _last_readiness = None


@never_cache
@require_GET
def healthz_live(request: HttpRequest) -> JsonResponse:
    """200 while the process answers: no database, cache or broker is asked, so a load balancer
    or orchestrator restarts a process only when the process itself is stuck."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def healthz_ready(request: HttpRequest) -> JsonResponse:
    """200 when the database, the shared cache and the configured broker answer; 503 otherwise.

    `checks` says "ok" or "down" for each, `problems` the error met by each one down. Every
    probe is bounded by short timeouts (the cache's in CACHES, the broker's below), so a service
    that hangs turns the answer into a 503 within seconds instead of holding it. The answer is
    kept PORTAL_HEALTH_CACHE_SECONDS in this process (`_last_readiness`).
    """
    global _last_readiness
    now = time.monotonic()
    if _last_readiness is None or now >= _last_readiness.until:
        status, body = _probe_dependencies()
        _last_readiness = Readiness(status, body, now + settings.PORTAL_HEALTH_CACHE_SECONDS)
    return JsonResponse(_last_readiness.body, status=_last_readiness.status)


# /healthz, as load balancers already configured call it: the readiness probe.
healthz = healthz_ready


def _probe_dependencies() -> tuple[int, dict[str, Any]]:
    probes: dict[str, Callable[[], None]] = {"database": _query_database, "cache": _write_cache}
    if settings.REDIS_URL:
        probes["broker"] = _ping_broker
    problems = {}
    for name, probe in probes.items():
        try:
            probe()
        except Exception as error:  # any failure means "down"; the reason is reported
            problems[name] = type(error).__name__
    body = {
        "status": "down" if problems else "ok",
        "checks": {name: "down" if name in problems else "ok" for name in probes},
        "problems": problems,
    }
    return (503 if problems else 200), body


def _query_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _write_cache() -> None:
    # Redis itself: its local-memory fallback (portal/cache.py) would hide that it is down.
    without_fallback.set(HEALTH_PROBE_KEY, "ok", timeout=60)


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
