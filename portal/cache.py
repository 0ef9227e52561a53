"""The shared cache (Redis in production), with this process's memory to fall back on.

Everything that uses Django's cache goes through `LocalFallbackCache`: the status page's
fragments, the feeds' `cache_page`, the archive, the link and return-link throttles
(portal.throttle) and allauth's rate limits. When Redis cannot be reached (refused, or hanging
until the socket timeouts of CACHES), each operation is done on a local-memory cache instead,
a warning is logged, and Redis is left alone for REST_SECONDS, so a hanging Redis costs one
timeout per process that often, not one per cache operation.

Why local memory rather than "no cache": pages then render uncached at worst, and the rate
limits keep counting. They count per process, so while Redis is down an attacker gets the limit
once per web process instead of once in all: correct, only looser. The alternatives are worse:
letting every guess through (link numbers, removal tokens, return links could be tried without
end) or refusing everyone (a cache outage would become an outage of every form).

The gate (outages.gate) and the health probe must see the failure: the gate keeps its own copy
of the maintenance windows and must not take a process-local snapshot for the shared one (a
staff change made in another process would never reach it); /healthz must say the cache is
down. Both use `without_fallback`, the default cache's primary backend, which raises.
"""

import logging
import time
from typing import Any

import redis
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

# What an unreachable or hanging Redis raises (redis-py's own classes, not the builtins).
UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
# As long as the gate leaves the cache alone after a failure (outages.gate.CACHE_REST_SECONDS).
REST_SECONDS = 10.0
WARN_EVERY_SECONDS = 60.0
# Room for every rate-limit counter of a busy process; the least recently used go first.
LOCAL_MAX_ENTRIES = 10_000
DEFAULT_PRIMARY = "portal.cache.ReusedClientRedisCache"


class ReusedClientRedisClient(RedisCacheClient):
    """Django's Redis client builds a new `redis.Redis` for every operation, and redis-py's
    constructor fills a table of ~170 reply handlers each time: a third of a millisecond per
    cache read on the benchmark's machine, more than the round trip. One client per connection
    pool does the same work once (a client is thread-safe; the pool checks its process id, so a
    fork still gets fresh connections)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}  # by id() of its pool: pools live as long

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Django's own attributes, which django-stubs leaves out.
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class ReusedClientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusedClientRedisClient


class LocalFallbackCache(BaseCache):
    """The PRIMARY_BACKEND (Redis by default) at LOCATION with OPTIONS; local memory when the
    primary cannot be reached.

    Django makes one backend per thread: each thread rests the primary on its own failures, and
    all threads of a process share one local memory (LocMemCache keeps it by name).
    """

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        shared = {key: value for key, value in params.items() if key != "PRIMARY_BACKEND"}
        primary_class = import_string(params.get("PRIMARY_BACKEND", DEFAULT_PRIMARY))
        self.primary: BaseCache = primary_class(location, shared)
        self.local = LocMemCache(
            f"portal.cache.fallback:{location}",
            {**shared, "OPTIONS": {"MAX_ENTRIES": LOCAL_MAX_ENTRIES}},
        )
        self._failed_at: float | None = None
        self._warned_at: float | None = None

    def _either(self, operation: str, *args: Any) -> Any:
        if not self._resting():
            try:
                return getattr(self.primary, operation)(*args)
            except UNREACHABLE as error:
                self._primary_failed(error)
        return getattr(self.local, operation)(*args)

    def _resting(self) -> bool:
        return self._failed_at is not None and _within(self._failed_at, REST_SECONDS)

    def _primary_failed(self, error: Exception) -> None:
        self._failed_at = time.time()
        if self._warned_at is None or not _within(self._warned_at, WARN_EVERY_SECONDS):
            self._warned_at = self._failed_at
            logger.warning(
                "The shared cache failed (%s): caching and rate limits use this process's "
                "memory for now.",
                type(error).__name__,
            )

    def add(
        self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        return bool(self._either("add", key, value, timeout, version))

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        return self._either("get", key, default, version)

    def set(
        self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        self._either("set", key, value, timeout, version)

    def touch(self, key: str, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return bool(self._either("touch", key, timeout, version))

    def delete(self, key: str, version: int | None = None) -> bool:
        return bool(self._either("delete", key, version))

    def get_many(self, keys: Any, version: int | None = None) -> dict[str, Any]:
        return dict(self._either("get_many", keys, version))

    def has_key(self, key: str, version: int | None = None) -> bool:
        return bool(self._either("has_key", key, version))

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int:
        return int(self._either("incr", key, delta, version))

    def set_many(
        self, data: dict[str, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[str]:
        return list(self._either("set_many", data, timeout, version))

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._either("delete_many", keys, version)

    def clear(self) -> None:
        self.local.clear()
        self._either("clear")

    def close(self, **kwargs: Any) -> None:
        self.primary.close(**kwargs)


def _within(since: float, seconds: float) -> bool:
    # A clock that went back makes the age negative: treated as too old (as the gate does).
    return 0 <= time.time() - since < seconds


class _DefaultWithoutFallback:
    """The default cache as it really is: its primary backend when it falls back, else itself.
    Resolved on each use, so it follows settings changes (tests) like `django.core.cache.cache`."""

    def __getattr__(self, name: str) -> Any:
        backend = caches[DEFAULT_CACHE_ALIAS]
        if isinstance(backend, LocalFallbackCache):
            backend = backend.primary
        return getattr(backend, name)


without_fallback: Any = _DefaultWithoutFallback()
