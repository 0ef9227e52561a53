"""Link notices travel through Redis to a real worker, once each, and the sweeper recovers them."""

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from celery.signals import task_postrun
from django.core import mail
from django.db import connection
from django.utils import timezone

from accounts import services, tasks
from accounts.models import BusinessAccount, Contact, LinkNotice
from tests.accounts.factories import BusinessAccountFactory, ContactFactory
from tests.factories import UserFactory
from tests.integration.waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PROOFS: dict[str, Any] = {"customer_number": "0002468135", "postal_code": "R3C 4T3"}


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


def all_sent(link_id: int) -> bool:
    statuses = set(LinkNotice.objects.filter(link_id=link_id).values_list("status", flat=True))
    return statuses == {LinkNotice.Status.SENT}


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
    assert wait_for(lambda: finished_tasks.count(tasks.send_link_notice.name) == 2)
    sent = len(mail.outbox)

    for notice_id in link.notices.values_list("pk", flat=True):
        tasks.send_link_notice.delay(notice_id=notice_id)  # the same messages, delivered again

    assert wait_for(lambda: finished_tasks.count(tasks.send_link_notice.name) == 4)
    assert len(mail.outbox) == sent == 2


def test_the_sweeper_on_the_worker_sends_what_the_broker_lost(celery_worker, account):
    link = services.link_account(user=UserFactory.create(), ip="192.0.2.1", **PROOFS)
    assert wait_for(lambda: all_sent(link.pk))
    mail.outbox.clear()
    # A notice whose enqueue was lost: pending for 10 minutes, no message on the broker.
    lost = LinkNotice.objects.create(
        link=link,
        email="late@prairie.example",
        name="Late Contact",
        created_at=timezone.now() - datetime.timedelta(minutes=10),
    )

    tasks.requeue_lost_link_emails.delay()

    assert wait_for(lambda: [m.to for m in mail.outbox] == [["late@prairie.example"]])
    lost.refresh_from_db()
    assert lost.status == LinkNotice.Status.SENT
