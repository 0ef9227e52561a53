"""Prometheus metrics at /metrics: django-prometheus's request, response and latency figures,
and the portal's own gauges, read when scraped: the outbox's pending and failed messages and the
Celery queue's depth.

Nothing is public. With PORTAL_METRICS_ENABLED off (the default) the URL answers 404 to
everyone; on, it answers staff signed in, or a scraper sending `Authorization: Bearer
$METRICS_TOKEN`, and 404 to anyone else (the same answer as a URL that does not exist).
"""

import hmac
import os
from collections.abc import Iterator

import structlog
from django.conf import settings
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

logger = structlog.get_logger(__name__)

# kombu's Redis transport keeps a queue's prioritised messages in lists named after it.
KOMBU_PRIORITY_SEPARATOR = "\x06\x16"
KOMBU_PRIORITY_STEPS = (3, 6, 9)


class PortalCollector(Collector):
    """The portal's gauges, computed at each scrape (two small queries and one Redis round
    trip). A figure that cannot be read is left out of that scrape rather than failing it."""

    def describe(self) -> Iterator[Metric]:
        # Names only: registering the collector must not query anything.
        yield GaugeMetricFamily("portal_outbox_pending", "")
        yield GaugeMetricFamily("portal_outbox_failed", "")
        yield GaugeMetricFamily("portal_celery_queue_length", "", labels=["queue"])

    def collect(self) -> Iterator[Metric]:
        yield from self._outbox()
        yield from self._queue()

    def _outbox(self) -> Iterator[Metric]:
        from portal.models import Delivery

        try:
            counts = dict(
                Delivery.objects.filter(
                    status__in=[Delivery.Status.PENDING, Delivery.Status.FAILED]
                )
                .values_list("status")
                .annotate(count=Count("pk"))
                .order_by()
            )
        except Exception:  # the database is down: /healthz/ready says so
            logger.warning("metrics_outbox_unreadable", exc_info=True)
            return
        yield GaugeMetricFamily(
            "portal_outbox_pending",
            "Outbox messages waiting to be sent (retries included).",
            value=counts.get(Delivery.Status.PENDING, 0),
        )
        yield GaugeMetricFamily(
            "portal_outbox_failed",
            "Outbox messages given up on after every try (support can send them again).",
            value=counts.get(Delivery.Status.FAILED, 0),
        )

    def _queue(self) -> Iterator[Metric]:
        depth = celery_queue_length()
        if depth is None:
            return
        queue, length = depth
        gauge = GaugeMetricFamily(
            "portal_celery_queue_length",
            "Tasks waiting in the Celery queue on the Redis broker.",
            labels=["queue"],
        )
        gauge.add_metric([queue], length)
        yield gauge


def celery_queue_length() -> tuple[str, int] | None:
    """(the default queue's name, the tasks waiting in it) when the broker is Redis; None
    with another broker or when Redis does not answer."""
    import redis

    from portal.celery import app

    broker = settings.CELERY_BROKER_URL
    if not broker.startswith(("redis://", "rediss://")):
        return None
    queue = app.conf.task_default_queue
    names = [queue, *(f"{queue}{KOMBU_PRIORITY_SEPARATOR}{step}" for step in KOMBU_PRIORITY_STEPS)]
    try:
        client = redis.Redis.from_url(broker, socket_connect_timeout=1, socket_timeout=1)
        with client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.llen(name)
            return queue, sum(pipe.execute())
    except (redis.RedisError, OSError):
        logger.warning("metrics_queue_unreadable", exc_info=True)
        return None


PORTAL_REGISTRY = CollectorRegistry(auto_describe=True)
PORTAL_REGISTRY.register(PortalCollector())


def _process_registry() -> CollectorRegistry:
    """django-prometheus's figures: this process's, or every gunicorn worker's when
    PROMETHEUS_MULTIPROC_DIR names the directory they share."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


def may_read_metrics(request: HttpRequest) -> bool:
    if not settings.PORTAL_METRICS_ENABLED:
        return False
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.is_staff)


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The metrics in Prometheus's text format; 404 to anyone who may not read them, whatever
    the method (so nobody learns the URL exists)."""
    if not may_read_metrics(request):
        raise Http404
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    body = generate_latest(_process_registry()) + generate_latest(PORTAL_REGISTRY)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
