"""A real Celery worker (solo pool, in a thread of the test process) on a real Redis broker."""

import os
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import kombu.pools
import pytest
import redis
from celery import Celery
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from portal.celery import app as portal_app
from tests.conftest import postgres_in_use, redis_available, require_service

# Each run gets a Redis database of its own, away from the one a developer's worker uses.
TEST_REDIS_DB = 15


def _dedicated_db(url: str, db: int = TEST_REDIS_DB) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


@pytest.fixture(scope="module")
def broker_url() -> str:
    require_service("PostgreSQL (DATABASE_URL)", postgres_in_use())
    url = os.environ.get("REDIS_URL", "") or settings.REDIS_URL
    require_service("Redis at REDIS_URL", bool(url) and redis_available(url))
    return _dedicated_db(url)


@pytest.fixture(scope="module")
def celery_worker(broker_url: str, django_db_setup: None) -> Iterator[Celery]:
    """The portal's Celery app, not eager, with a worker consuming from a purged queue.

    One worker serves a module's tests (starting and stopping one takes about a second). It runs
    in this process, so it shares the locmem e-mail outbox and cache with the test; it sees only
    committed rows, hence `django_db(transaction=True)` in the tests. It stops before the test
    database is dropped, since module fixtures end before session ones.
    """
    app = portal_app
    saved = {
        key: app.conf[key]
        for key in ("broker_url", "broker_read_url", "broker_write_url", "task_always_eager")
    }
    app.conf.update(
        broker_url=broker_url,
        broker_read_url=None,
        broker_write_url=None,
        task_always_eager=False,
    )
    _forget_connections(app)
    redis.Redis.from_url(broker_url).flushdb()
    skip_checks = os.environ.get("CELERY_SKIP_CHECKS")
    os.environ["CELERY_SKIP_CHECKS"] = "1"  # Django's system checks ran when the suite started
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield app
    finally:
        if skip_checks is None:
            os.environ.pop("CELERY_SKIP_CHECKS", None)
        else:
            os.environ["CELERY_SKIP_CHECKS"] = skip_checks
        app.conf.update(saved)
        _forget_connections(app)
        redis.Redis.from_url(broker_url).flushdb()


def _forget_connections(app: Celery) -> None:
    """Drop pooled broker connections so the next publish uses the broker configured now."""
    pool = getattr(app, "_pool", None)
    if pool is not None:
        pool.force_close_all()
        app._pool = None  # type: ignore[attr-defined]
    app.amqp._producer_pool = None  # type: ignore[attr-defined]
    kombu.pools.reset()  # kombu also keeps a producer pool per broker URL, process-wide
