"""A cache backend for tests: the in-memory one, recording what reaches it and failing on demand
the way an unreachable Redis does (redis-py's ConnectionError)."""

from typing import Any

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache


class FaultyCache(LocMemCache):
    def __init__(self, name: str, params: dict[str, Any]) -> None:
        super().__init__(name, params)
        self.operations: list[tuple[str, str]] = []
        self.down = False

    def reads(self, prefix: str = "outages:") -> list[str]:
        """The keys read so far (one entry per key, in order), among those under `prefix`."""
        return [key for op, key in self.operations if op == "get" and key.startswith(prefix)]

    def touches(self, prefix: str = "outages:") -> int:
        """How many operations of any kind reached the cache for keys under `prefix`."""
        return sum(key.startswith(prefix) for _, key in self.operations)

    def _reach(self, operation: str, key: str) -> None:
        self.operations.append((operation, key))
        if self.down:
            raise redis.exceptions.ConnectionError(
                "Error 111 connecting to 127.0.0.1:6379. Connection refused."
            )

    # get_many, has_key and the rest go through these.
    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        self._reach("get", key)
        return super().get(key, default, version)

    def set(
        self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        self._reach("set", key)
        super().set(key, value, timeout, version)

    def add(
        self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        self._reach("add", key)
        return super().add(key, value, timeout, version)

    def delete(self, key: str, version: int | None = None) -> bool:
        self._reach("delete", key)
        return super().delete(key, version)

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int:
        self._reach("incr", key)
        return super().incr(key, delta, version)
