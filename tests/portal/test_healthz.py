"""The health probe load balancers call: 200 when the portal can work, 503 naming what is down."""

import time

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import OperationalError, connection
from django.test import override_settings
from django.urls import reverse

from tests.conftest import redis_available, require_service

pytestmark = pytest.mark.django_db

UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once


@override_settings(REDIS_URL="")
def test_ok_when_the_database_answers(client):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok"},
        "problems": {},
    }
    assert "no-cache" in response["Cache-Control"]


def test_a_cache_that_fails_answers_503_naming_the_cache(client, settings):
    # One way of overriding per test: the settings fixture layered over @override_settings
    # restores the decorator's values when it ends, and REDIS_URL would stay "" for later tests.
    settings.REDIS_URL = ""
    settings.CACHES = {"default": {"BACKEND": "tests.cache_faults.FaultyCache"}}
    caches["default"].down = True  # type: ignore[attr-defined]

    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json() == {
        "status": "down",
        "checks": {"database": "ok", "cache": "down"},
        "problems": {"cache": "ConnectionError"},
    }


def test_the_cache_is_probed_with_a_write(client, settings):
    settings.REDIS_URL = ""
    settings.CACHES = {"default": {"BACKEND": "tests.cache_faults.FaultyCache"}}

    client.get(reverse("healthz"))

    assert caches["default"].operations == [("set", "portal:healthz")]  # type: ignore[attr-defined]


def test_database_failure_answers_503_naming_the_database(client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(connection, "cursor", broken_cursor)

    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["problems"] == {"database": "OperationalError"}


@override_settings(REDIS_URL=UNREACHABLE_BROKER, CELERY_BROKER_URL=UNREACHABLE_BROKER)
def test_unreachable_broker_answers_503_naming_the_broker_within_seconds(client):
    started = time.monotonic()

    response = client.get(reverse("healthz"))

    elapsed = time.monotonic() - started
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert set(body["problems"]) == {"broker"}
    assert elapsed < 5, f"the probe took {elapsed:.1f}s"


def test_reachable_redis_broker_answers_200(client):
    url = settings.REDIS_URL
    require_service("Redis at REDIS_URL", bool(url) and redis_available(url))
    with override_settings(CELERY_BROKER_URL=url):
        response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_probe_accepts_only_get(client):
    assert client.post(reverse("healthz")).status_code == 405


# --- liveness and readiness -------------------------------------------------------------------


def test_liveness_asks_nothing_of_the_database_or_the_cache(client, monkeypatch, settings):
    def broken_cursor(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    settings.CACHES = {"default": {"BACKEND": "tests.cache_faults.FaultyCache"}}
    caches["default"].down = True  # type: ignore[attr-defined]

    response = client.get(reverse("healthz_live"))

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert reverse("healthz_live") == "/healthz/live"


@override_settings(REDIS_URL="")
def test_readiness_is_healthz_under_its_own_name(client):
    assert reverse("healthz_ready") == "/healthz/ready"
    ready = client.get(reverse("healthz_ready"))

    assert ready.status_code == 200
    assert ready.json() == client.get(reverse("healthz")).json()
    assert client.post(reverse("healthz_ready")).status_code == 405


def test_readiness_answers_from_its_last_probe_for_a_few_seconds(client, monkeypatch, settings):
    settings.REDIS_URL = ""
    settings.PORTAL_HEALTH_CACHE_SECONDS = 5
    assert client.get(reverse("healthz_ready")).status_code == 200

    def broken_cursor(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    assert client.get(reverse("healthz_ready")).status_code == 200  # kept: nothing probed

    moment = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: moment + 5)
    response = client.get(reverse("healthz_ready"))

    assert response.status_code == 503
    assert response.json()["problems"] == {"database": "OperationalError"}
