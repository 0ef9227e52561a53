"""/metrics: off by default, never public (staff or the bearer token, 404 to anyone else), and
the portal's own gauges read at scrape time: the outbox's pending and failed messages and the
Celery queue's length on a Redis broker."""

import pytest
import redis
from django.conf import settings
from django.test import Client
from django.urls import reverse

from portal.metrics import celery_queue_length
from portal.models import Delivery
from tests.conftest import redis_available, require_service
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "scraper-token-for-the-metrics-test-0123456789"
URL = "/metrics"
# A Redis database of its own: the test pushes to and clears the default queue's list there.
QUEUE_DB = 7  # no worker reads it: the worker suites use 10 to 15


@pytest.fixture
def enabled(settings):
    settings.PORTAL_METRICS_ENABLED = True
    settings.METRICS_TOKEN = TOKEN


def scraper(token: str = TOKEN) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}"})


def as_staff(client):
    client.force_login(UserFactory.create(is_staff=True))
    return client


def delivery(status: str, number: int) -> Delivery:
    return Delivery.objects.create(
        channel=Delivery.Channel.EMAIL,
        kind="portal.test",
        address=f"person{number}@example.com",
        status=status,
        dedupe_key=f"metrics-test-{number}",
    )


def test_the_url_is_the_one_prometheus_is_given():
    assert reverse("metrics") == URL


def test_off_by_default_even_for_staff_and_the_token(client, settings):
    settings.METRICS_TOKEN = TOKEN
    assert settings.PORTAL_METRICS_ENABLED is False

    assert as_staff(client).get(URL).status_code == 404
    assert scraper().get(URL).status_code == 404


@pytest.mark.usefixtures("enabled")
def test_staff_and_the_bearer_token_read_the_metrics(client):
    for reader in (as_staff(client), scraper()):
        response = reader.get(URL)

        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain")
        assert "portal_outbox_pending" in response.content.decode()
        assert "no-cache" in response["Cache-Control"]


@pytest.mark.usefixtures("enabled")
@pytest.mark.parametrize(
    "who",
    ["anonymous", "customer", "wrong token", "token without Bearer", "inactive staff"],
)
def test_anyone_else_gets_404_as_for_a_url_that_does_not_exist(client, who):
    if who == "customer":
        client.force_login(UserFactory.create())
    elif who == "inactive staff":
        client.force_login(UserFactory.create(is_staff=True, is_active=False))
    elif who == "wrong token":
        client = scraper("not-the-token")
    elif who == "token without Bearer":
        client = Client(headers={"Authorization": TOKEN})

    assert client.get(URL).status_code == 404
    assert client.post(URL).status_code == 404  # the method is not even acknowledged


def test_an_empty_token_setting_lets_no_bearer_in(settings):
    settings.PORTAL_METRICS_ENABLED = True
    settings.METRICS_TOKEN = ""

    assert Client(headers={"Authorization": "Bearer "}).get(URL).status_code == 404


@pytest.mark.usefixtures("enabled")
def test_only_get_for_those_who_may_read(client):
    assert as_staff(client).post(URL).status_code == 405


@pytest.mark.usefixtures("enabled")
def test_the_outbox_gauges_count_pending_and_failed_messages_when_scraped():
    before = scraper().get(URL).content.decode()
    for number, status in enumerate(["pending", "pending", "failed", "sent", "sending"]):
        delivery(status, number)

    after = scraper().get(URL).content.decode()

    assert "portal_outbox_pending 0.0" in before and "portal_outbox_failed 0.0" in before
    assert "portal_outbox_pending 2.0" in after
    assert "portal_outbox_failed 1.0" in after


@pytest.mark.usefixtures("enabled")
def test_django_prometheus_s_own_figures_are_there(settings):
    body = scraper().get(URL).content.decode()

    # The process's collectors (prometheus_client's defaults, and django-prometheus's once its
    # middleware counts requests, which production turns on with the setting).
    assert "python_info" in body or "process_cpu_seconds_total" in body


def test_no_queue_length_without_a_redis_broker(settings):
    settings.CELERY_BROKER_URL = "memory://"

    assert celery_queue_length() is None


def test_an_unreachable_redis_broker_leaves_the_queue_length_out(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    assert celery_queue_length() is None


@pytest.mark.usefixtures("enabled")
def test_the_queue_length_is_read_from_the_redis_broker_when_scraped(settings):
    base = settings.REDIS_URL or "redis://127.0.0.1:6379/0"
    require_service("Redis at REDIS_URL", redis_available(base))
    broker = base.rsplit("/", 1)[0] + f"/{QUEUE_DB}"
    settings.CELERY_BROKER_URL = broker
    queue = redis.Redis.from_url(broker)
    queue.delete("celery", "celery\x06\x163")
    try:
        queue.lpush("celery", "a", "b")
        queue.lpush("celery\x06\x163", "c")  # a prioritised task is waiting too

        body = scraper().get(URL).content.decode()
    finally:
        queue.delete("celery", "celery\x06\x163")

    assert celery_queue_length() == ("celery", 0)
    assert 'portal_celery_queue_length{queue="celery"} 3.0' in body


def test_the_metrics_setting_is_off_unless_the_environment_says_so():
    import portal.settings as production

    assert production.PORTAL_METRICS_ENABLED is False
    assert "django_prometheus" not in settings.INSTALLED_APPS
