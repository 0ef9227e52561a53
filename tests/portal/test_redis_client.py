"""The shared cache builds one redis-py client per connection pool, not one per operation."""

import os
from typing import Any

import pytest
import redis

from portal.cache import ReusedClientRedisCache
from tests.conftest import redis_available, require_service

KEY = "tests:portal:reused-client"


@pytest.fixture
def redis_url(settings: Any) -> str:
    url = settings.REDIS_URL
    require_service("Redis at REDIS_URL", bool(url) and redis_available(url))
    return str(url)


def test_every_operation_goes_through_one_client(redis_url, monkeypatch):
    built: list[redis.Redis] = []
    build = redis.Redis.__init__

    def counted(self: redis.Redis, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        build(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counted)
    backend = ReusedClientRedisCache(redis_url, {})

    backend.set(KEY, 1, 30)
    assert [backend.get(KEY) for _ in range(5)] == [1] * 5
    assert backend.incr(KEY) == 2
    assert backend.get_many([KEY, f"{KEY}:missing"]) == {KEY: 2}
    backend.delete(KEY)
    assert backend.get(KEY) is None

    assert len(built) == 1


def test_a_forked_process_talks_to_redis_on_connections_of_its_own(redis_url):
    """gunicorn forks its workers after loading the portal: a client built before the fork
    must not share its parent's sockets (replies would reach the wrong process)."""
    backend = ReusedClientRedisCache(redis_url, {})
    backend.set(KEY, "parent", 30)
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's exit code is the assertion
        answered = backend.get(KEY) == "parent"
        backend.set(KEY, "child", 30)
        os._exit(0 if answered else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert backend.get(KEY) == "child"
    backend.delete(KEY)
