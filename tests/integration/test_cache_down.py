"""The site on a real Redis cache that stops, or hangs: pages still answer, with the maintenance
banner, the cached public pages and the rate limits work from the process's memory
(portal/cache.py), and /healthz says the cache is down, quickly.

The cache is a redis-server of the test's own on a free port (the shared one is left alone),
configured as in production: its backend and OPTIONS (REDIS_CACHE_OPTIONS: short timeouts).
"""

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis
from django.urls import reverse
from django.utils import timezone

from outages import gate
from outages.features import Feature
from portal.views import forget_readiness
from tests.accounts.factories import BusinessAccountFactory
from tests.conftest import postgres_in_use, require_service
from tests.factories import UserFactory
from tests.integration.waiting import wait_for
from tests.outages.factories import HOUR, closing
from tests.returns.factories import PolicyFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

# /healthz must say "down" well before a load balancer's probe gives up on it.
PROBE_LIMIT_SECONDS = 2.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """A throwaway redis-server: nothing saved, stopped and started again at will."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
            ],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2, socket_timeout=0.2)
        assert wait_for(lambda: self._answers(client)), "redis-server did not start"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    @staticmethod
    def _answers(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    require_service("PostgreSQL (DATABASE_URL)", postgres_in_use())
    require_service("redis-server", shutil.which("redis-server") is not None)
    server = RedisServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def hanging_redis() -> Iterator[str]:
    """A port that accepts connections and never answers, as a Redis stuck or cut off does."""
    require_service("PostgreSQL (DATABASE_URL)", postgres_in_use())
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)  # the kernel completes the handshakes; nobody reads
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


def use_cache(settings, url: str) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "portal.cache.LocalFallbackCache",  # Redis, local memory when it fails
            "LOCATION": url,
            "OPTIONS": settings.REDIS_CACHE_OPTIONS,
        }
    }
    settings.REDIS_URL = ""  # the broker is not what these tests are about


@pytest.fixture
def signed_in(client):
    client.force_login(UserFactory.create())
    return client


@pytest.fixture
def announced_window():
    starts = timezone.now() + HOUR
    return closing(Feature.INVOICES, starts_at=starts, ends_at=starts + HOUR).window


def timed_healthz(client) -> tuple[float, dict, int]:
    forget_readiness()  # its answer is kept a few seconds per process: probe now
    started = time.monotonic()
    response = client.get(reverse("healthz"))
    return time.monotonic() - started, response.json(), response.status_code


def assert_page_with_banner(client, window) -> None:
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert window.title_en.encode() in response.content


def test_when_redis_stops_pages_answer_and_healthz_says_the_cache_is_down(
    settings, redis_server, signed_in, announced_window
):
    use_cache(settings, redis_server.url)
    assert_page_with_banner(signed_in, announced_window)
    assert timed_healthz(signed_in)[1]["checks"]["cache"] == "ok"

    redis_server.stop()
    time.sleep(gate.CONFIRM_SECONDS)  # the process copy must be confirmed: Redis is asked

    assert_page_with_banner(signed_in, announced_window)  # the process copy
    gate.forget_process_copy()  # a worker started during the outage: the database's word
    assert_page_with_banner(signed_in, announced_window)
    elapsed, body, status = timed_healthz(signed_in)
    assert status == 503
    assert body["checks"] == {"database": "ok", "cache": "down"}
    assert body["problems"] == {"cache": "ConnectionError"}
    assert elapsed < PROBE_LIMIT_SECONDS, f"the probe took {elapsed:.1f}s"

    redis_server.start()
    assert timed_healthz(signed_in)[1:] == (
        {"status": "ok", "checks": {"database": "ok", "cache": "ok"}, "problems": {}},
        200,
    )


def test_when_redis_hangs_pages_answer_and_healthz_says_down_within_seconds(
    settings, hanging_redis, signed_in, announced_window
):
    use_cache(settings, hanging_redis)

    started = time.monotonic()
    assert_page_with_banner(signed_in, announced_window)  # one timeout, then the database
    first_page = time.monotonic() - started
    started = time.monotonic()
    assert_page_with_banner(signed_in, announced_window)  # the cache is left alone meanwhile
    second_page = time.monotonic() - started
    elapsed, body, status = timed_healthz(signed_in)

    assert first_page < PROBE_LIMIT_SECONDS, f"the first page took {first_page:.1f}s"
    assert second_page < PROBE_LIMIT_SECONDS, f"the second page took {second_page:.1f}s"
    assert status == 503
    assert body["checks"] == {"database": "ok", "cache": "down"}
    assert body["problems"] == {"cache": "TimeoutError"}
    assert elapsed < PROBE_LIMIT_SECONDS, f"the probe took {elapsed:.1f}s"


@pytest.fixture
def small_limits(settings) -> None:
    import portal.settings as production

    settings.ACCOUNT_RATE_LIMITS = production.ACCOUNT_RATE_LIMITS  # on, as in production
    settings.PORTAL_LINK_FAILURE_LIMITS = {"user": 2, "ip": 5, "customer_number": 4}
    settings.RETURNS_LINK_RATE_PER_IP = 2


def test_when_redis_stops_public_pages_and_rate_limits_answer_from_local_memory(
    settings, redis_server, client, small_limits, caplog
):
    use_cache(settings, redis_server.url)
    user = UserFactory.create()
    account = BusinessAccountFactory.create(customer_number="0001234567", postal_code="K1A 0B1")
    direct_link = reverse("returns:direct_link", args=[PolicyFactory.create().link_token])
    assert client.get(reverse("outages:status")).status_code == 200  # cached in Redis

    redis_server.stop()

    for name in ("outages:status", "outages:ical", "outages:atom"):
        assert client.get(reverse(name)).status_code == 200, name
    sign_in = {"login": user.email, "password": "not-the-password"}
    assert client.post(reverse("account_login"), sign_in).status_code == 200  # the form, again
    # The limits still hold, counted in this process's memory.
    assert [client.post(direct_link, {}).status_code for _ in range(3)] == [400, 400, 429]
    client.force_login(user)
    wrong = {"customer_number": account.customer_number, "postal_code": "K1A 0B2"}
    linking = [client.post(reverse("accounts:link"), wrong).status_code for _ in range(3)]
    assert linking == [400, 429, 429]
    assert "The shared cache failed (ConnectionError)" in caplog.text


def test_when_redis_hangs_rate_limited_forms_answer_within_seconds(
    settings, hanging_redis, client, small_limits
):
    use_cache(settings, hanging_redis)
    user = UserFactory.create()
    direct_link = reverse("returns:direct_link", args=[PolicyFactory.create().link_token])
    client.force_login(user)
    wrong = {"customer_number": "0001234567", "postal_code": "K1A 0B2"}

    for url, data in ((direct_link, {}), (reverse("accounts:link"), wrong)):
        started = time.monotonic()
        status = client.post(url, data).status_code
        elapsed = time.monotonic() - started
        assert status == 400, url  # the form again: the limit counted, nothing held
        assert elapsed < PROBE_LIMIT_SECONDS, f"{url} took {elapsed:.1f}s"
