"""The shared cache fails over to the process's memory: pages answer, rate limits keep counting.

The primary is the in-memory `FaultyCache`, which fails like an unreachable Redis on demand
(`down`); the real Redis is in tests/integration/test_cache_down.py.
"""

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import time_machine
from django.core.cache import cache, caches
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountLink
from outages import gate
from outages.features import Feature
from portal.cache import REST_SECONDS, LocalFallbackCache, without_fallback
from tests.accounts.factories import BusinessAccountFactory
from tests.cache_faults import FaultyCache
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.outages.factories import HOUR, MaintenanceWindowFactory, closing
from tests.returns.factories import PolicyFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 10, 15, 16, 0, tzinfo=datetime.UTC)
WARNING = "The shared cache failed (ConnectionError)"


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def backend(settings: Any, clock: Any) -> Iterator[LocalFallbackCache]:
    settings.CACHES = {
        "default": {
            "BACKEND": "portal.cache.LocalFallbackCache",
            "PRIMARY_BACKEND": "tests.cache_faults.FaultyCache",
        }
    }
    fallback = caches["default"]
    assert isinstance(fallback, LocalFallbackCache)
    fallback.local.clear()  # one memory per process: no test sees another's
    yield fallback
    fallback.local.clear()


@pytest.fixture
def primary(backend: LocalFallbackCache) -> FaultyCache:
    assert isinstance(backend.primary, FaultyCache)
    return backend.primary


@pytest.fixture
def redis_down(primary: FaultyCache) -> FaultyCache:
    primary.down = True
    return primary


def warnings_of(caplog: Any) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "portal.cache"]


# --- the backend ---------------------------------------------------------------------------------


def test_while_the_primary_answers_it_holds_everything(backend, primary):
    cache.set("greeting", "hello")

    assert cache.get("greeting") == "hello"
    assert primary.get("greeting") == "hello"
    assert backend.local.get("greeting") is None


def test_when_the_primary_fails_the_process_memory_serves_every_operation(redis_down, caplog):
    cache.set("greeting", "hello")
    assert cache.add("counter", 0)
    assert cache.incr("counter") == 1
    cache.set_many({"a": 1, "b": 2})

    assert cache.get("greeting") == "hello"
    assert cache.get_many(["a", "b", "missing"]) == {"a": 1, "b": 2}
    assert cache.get_or_set("made", lambda: "once") == "once"
    assert cache.delete("greeting")
    assert cache.get("greeting") is None
    with pytest.raises(ValueError):  # as Redis says of a missing counter: the throttle relies on it
        cache.incr("no-such-counter")
    assert warnings_of(caplog) == [
        f"{WARNING}: caching and rate limits use this process's memory for now."
    ]


def test_after_a_failure_the_primary_is_left_alone_then_asked_again(redis_down, clock):
    cache.get("first")
    asked = len(redis_down.operations)

    clock.shift(REST_SECONDS - 1)
    cache.set("during", "the rest")
    assert len(redis_down.operations) == asked  # no timeout paid on every operation

    redis_down.down = False
    clock.shift(1)
    cache.set("after", "back")
    assert redis_down.get("after") == "back"
    assert redis_down.get("during") is None  # what the process memory held stays there


def test_the_warning_is_logged_once_a_minute_at_most(redis_down, clock, caplog):
    for _ in range(5):  # one failure every rest: each asks the primary again
        cache.get("key")
        clock.shift(REST_SECONDS)
    assert len(warnings_of(caplog)) == 1

    clock.shift(60)
    cache.get("key")
    assert len(warnings_of(caplog)) == 2


def test_a_timeout_is_met_the_same_way(backend, primary, monkeypatch):
    def hang(*args: Any, **kwargs: Any) -> None:
        raise redis.exceptions.TimeoutError("Timeout reading from socket")

    monkeypatch.setattr(primary, "get", hang)

    assert cache.get_or_set("key", "local") == "local"


def test_other_errors_are_not_hidden(backend, primary, monkeypatch):
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise redis.exceptions.ResponseError("WRONGTYPE")  # a bug, not an outage

    monkeypatch.setattr(primary, "get", refuse)

    with pytest.raises(redis.exceptions.ResponseError):
        cache.get("key")


def test_without_fallback_is_the_primary_and_raises(redis_down):
    with pytest.raises(redis.exceptions.ConnectionError):
        without_fallback.get("key")


# --- what must still see the failure: the health probe and the gate ------------------------------


def test_healthz_still_says_the_cache_is_down(client, settings, redis_down):
    settings.REDIS_URL = ""

    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json()["problems"] == {"cache": "ConnectionError"}


def test_the_gate_answers_from_the_database_not_from_the_process_memory(redis_down, caplog):
    closing(Feature.INVOICES)

    taken = gate.snapshot()

    assert taken.generation == ""  # the gate's own outage mode: rebuilt when the cache is back
    assert not gate.is_open(Feature.INVOICES)
    assert local_keys_under("outages:") == []
    assert any("The shared cache failed" in m for m in caplog.messages)


def local_keys_under(prefix: str) -> list[str]:
    fallback = caches["default"]
    assert isinstance(fallback, LocalFallbackCache)
    return [key for key in fallback.local._cache if prefix in key]  # type: ignore[attr-defined]


# --- pages render, without the shared cache ---------------------------------------------------


@pytest.mark.parametrize(
    "name", ["outages:status", "outages:archive", "outages:ical", "outages:atom", "outages:json"]
)
def test_the_cached_public_pages_answer(client, redis_down, name):
    now = timezone.now()
    closing(Feature.INVOICES, starts_at=now + HOUR, ends_at=now + 2 * HOUR, title_en="New upgrade")
    MaintenanceWindowFactory.create(
        title_en="Old upgrade", starts_at=now - 3 * HOUR, ends_at=now - HOUR
    )

    first, again = client.get(reverse(name)), client.get(reverse(name))

    assert first.status_code == again.status_code == 200
    # The JSON lists interruptions (an application's name), the others name windows.
    assert (b"Registration" if name == "outages:json" else b"upgrade") in first.content


# --- rate limits keep counting, in the process's memory ------------------------------------------


def test_linking_guesses_are_still_locked_out(client, settings, redis_down):
    settings.PORTAL_LINK_FAILURE_LIMITS = {"user": 3, "ip": 5, "customer_number": 4}
    account = BusinessAccountFactory.create(customer_number="0001234567", postal_code="K1A 0B1")
    client.force_login(UserFactory.create())
    wrong = {"customer_number": account.customer_number, "postal_code": "K1A 0B2"}
    url = reverse("accounts:link")

    answers = [client.post(url, wrong).status_code for _ in range(3)]

    assert answers == [400, 400, 429]
    right = {"customer_number": account.customer_number, "postal_code": "K1A 0B1"}
    assert client.post(url, right).status_code == 429
    assert not AccountLink.objects.exists()


def test_return_link_requests_are_still_limited(client, settings, redis_down):
    settings.RETURNS_LINK_RATE_PER_IP = 2
    settings.RETURNS_LINK_VIEWS_PER_IP = 2
    link = reverse("returns:direct_link", args=[PolicyFactory.create().link_token])

    shown = [client.get(link).status_code for _ in range(3)]
    asked = [client.post(link, {}).status_code for _ in range(3)]

    assert shown == [200, 200, 429]
    assert asked == [400, 400, 429]


def test_sign_in_attempts_are_still_limited(client, settings, redis_down):
    settings.ACCOUNT_RATE_LIMITS = {"login": "2/m/ip"}
    user = UserFactory.create()
    attempt = {"login": user.email, "password": DEFAULT_PASSWORD + "wrong"}

    answers = [client.post(reverse("account_login"), attempt).status_code for _ in range(3)]

    assert answers == [200, 200, 429]


def test_removal_tokens_are_still_limited(client, settings, redis_down):
    settings.PORTAL_REMOVAL_LINK_RATE_LIMIT = 2
    removal = reverse("accounts:removal", args=["not-a-token"])

    answers = [client.get(removal).status_code for _ in range(3)]

    assert 429 not in answers[:2] and answers[2] == 429, answers
