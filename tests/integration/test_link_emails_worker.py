"""Link notices travel through the outbox and Redis to a real worker, once each; with the broker
down at commit the page still answers and the outbox's sweeper sends them once it is back."""

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery
from celery.signals import task_postrun
from django.conf import settings
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts import notifications, services
from accounts.models import BusinessAccount, Contact, LinkNotice
from portal import tasks
from portal.models import Delivery
from tests.accounts.factories import BusinessAccountFactory, ContactFactory
from tests.conftest import redis_available, require_service
from tests.factories import UserFactory
from tests.integration.conftest import _dedicated_db, _forget_connections
from tests.integration.waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PROOFS: dict[str, Any] = {"customer_number": "0002468135", "postal_code": "R3C 4T3"}
# This module's own Redis database (other suites' workers use theirs at the same time).
REDIS_DB = 12
# Nothing listens there: publishing a task fails at once, as with the broker down.
DEAD_BROKER = f"redis://127.0.0.1:1/{REDIS_DB}"


@pytest.fixture(scope="module")
def broker_url(broker_url: str) -> str:
    """The shared fixture's checks, on this module's Redis database."""
    url = _dedicated_db(broker_url, REDIS_DB)
    require_service("Redis at REDIS_URL", redis_available(url))
    return url


@pytest.fixture(autouse=True)
def finished_tasks() -> Iterator[list[str]]:
    """Names of the tasks the worker finished; and its database connection closed after each.

    The worker keeps its connection between tasks (CELERY_DB_REUSE_MAX), and an open one would
    stop the test database from being dropped at the end of the run.
    """
    finished: list[str] = []

    def after_task(sender: Any = None, **kwargs: Any) -> None:
        finished.append(sender.name)
        connection.close()  # runs in the worker's thread, on the worker's connection

    task_postrun.connect(after_task, weak=False)
    yield finished
    task_postrun.disconnect(after_task)


@pytest.fixture
def broker_down(celery_worker: Celery) -> Iterator[None]:
    """Publishing fails (the web process's broker is gone) while the worker keeps consuming."""
    celery_worker.conf.update(broker_write_url=DEAD_BROKER)
    _forget_connections(celery_worker)
    try:
        yield
    finally:
        celery_worker.conf.update(broker_write_url=None)
        _forget_connections(celery_worker)


def link_notices(link_id: int):
    ids = LinkNotice.objects.filter(link_id=link_id).values_list("pk", flat=True)
    return Delivery.objects.filter(dedupe_key__in=[f"accounts.link_notice:{pk}" for pk in ids])


def all_sent(link_id: int) -> bool:
    statuses = set(link_notices(link_id).values_list("status", flat=True))
    return statuses == {Delivery.Status.SENT}


@pytest.fixture
def account() -> BusinessAccount:
    account = BusinessAccountFactory.create(
        kind=BusinessAccount.Kind.COMMERCIAL, legal_name="Prairie Pottery Studio", **PROOFS
    )
    ContactFactory.create(account=account, role=Contact.Role.PRIMARY, email="ava@prairie.example")
    ContactFactory.create(account=account, role=Contact.Role.BILLING, email="liam@prairie.example")
    return account


def test_the_worker_delivers_one_notice_per_contact_after_commit(celery_worker, account):
    link = services.link_account(user=UserFactory.create(), ip="192.0.2.1", **PROOFS)

    assert wait_for(lambda: len(mail.outbox) == 2), "the worker did not deliver within 10 s"
    assert sorted(m.to[0] for m in mail.outbox) == ["ava@prairie.example", "liam@prairie.example"]
    assert wait_for(lambda: all_sent(link.pk))


def test_a_redelivered_task_sends_nothing_twice(celery_worker, account, finished_tasks):
    link = services.link_account(user=UserFactory.create(), ip="192.0.2.1", **PROOFS)
    assert wait_for(lambda: all_sent(link.pk))
    assert wait_for(lambda: finished_tasks.count(tasks.send_deliveries.name) == 1)  # both
    sent = len(mail.outbox)

    for delivery_id in link_notices(link.pk).values_list("pk", flat=True):
        tasks.send_delivery.delay(delivery_id)  # the same messages, delivered again
    tasks.send_deliveries.delay(list(link_notices(link.pk).values_list("pk", flat=True)))

    assert wait_for(lambda: finished_tasks.count(tasks.send_delivery.name) == 2)
    assert wait_for(lambda: finished_tasks.count(tasks.send_deliveries.name) == 2)
    assert len(mail.outbox) == sent == 2


def test_the_sweeper_on_the_worker_sends_what_the_broker_lost(celery_worker, account):
    link = services.link_account(user=UserFactory.create(), ip="192.0.2.1", **PROOFS)
    assert wait_for(lambda: all_sent(link.pk))
    mail.outbox.clear()
    # A notice whose enqueue was lost: its row pending, never handed to a worker.
    late = LinkNotice.objects.create(link=link, email="late@prairie.example", name="Late Contact")
    delivery = notifications.queue_link_notice(late)  # autocommit: handed over at once...
    assert wait_for(lambda: len(mail.outbox) == 1)
    # The worker marks the row just after the message left: wait for that, not only the mail.
    assert wait_for(lambda: _status(delivery) == Delivery.Status.SENT)
    mail.outbox.clear()
    Delivery.objects.filter(pk=delivery.pk).update(  # ...so pretend it never was
        status=Delivery.Status.PENDING, sent_at=None, enqueued_at=None
    )

    tasks.sweep_outbox.delay()

    assert wait_for(lambda: [m.to for m in mail.outbox] == [["late@prairie.example"]])
    assert wait_for(lambda: _status(delivery) == Delivery.Status.SENT)
    assert [m.to for m in mail.outbox] == [["late@prairie.example"]]  # and only once


def _status(delivery: Delivery) -> str:
    return Delivery.objects.values_list("status", flat=True).get(pk=delivery.pk)


def test_with_the_broker_down_at_commit_linking_answers_and_the_sweeper_sends_each_notice_once(
    celery_worker, broker_down, account, client, finished_tasks, caplog
):
    user = UserFactory.create()
    client.force_login(user)

    response = client.post(reverse("accounts:link"), PROOFS)

    link = user.account_links.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:detail", args=[account.pk])
    assert "enqueue_deliveries in on_commit()" in caplog.text  # logged, not raised
    assert link_notices(link.pk).count() == 2
    assert mail.outbox == [] and finished_tasks == []

    # The broker is back; the sweeper hands over what waited longer than REQUEUE_AFTER.
    celery_worker.conf.update(broker_write_url=None)
    _forget_connections(celery_worker)
    Delivery.objects.update(enqueued_at=timezone.now() - _requeue_after())
    tasks.sweep_outbox.delay()

    assert wait_for(lambda: len(mail.outbox) == 2), "the sweeper's sends did not arrive"
    assert sorted(m.to[0] for m in mail.outbox) == ["ava@prairie.example", "liam@prairie.example"]
    assert wait_for(lambda: all_sent(link.pk))
    tasks.sweep_outbox.delay()  # a second sweep finds nothing left
    assert wait_for(lambda: finished_tasks.count(tasks.sweep_outbox.name) == 2)
    assert len(mail.outbox) == 2


def _requeue_after() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.PORTAL_OUTBOX_REQUEUE_AFTER + 1)
