"""The e-mail provider failing, through a real worker on Redis: a shopper's label e-mail.

- A passing failure (the SMTP connection dropped) is recorded on the row and tried again by the
  sweeper once its backoff (60 s) has passed, not before; then it goes, once.
- A permanent one (the provider refuses the recipient) fails the row at once, the sweeper never
  tries it again, and staff see it failed, with the error's type, in the admin's list.

tests/portal/test_outbox.py proves the same rules with eager tasks and a frozen clock; here the
task goes through the broker and the clock moves on its own.
"""

import datetime
import os
import smtplib
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from anymail.exceptions import AnymailRecipientsRefused
from celery import Celery
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from portal.models import Delivery
from portal.tasks import send_delivery, sweep_outbox
from returns.models import Channel, ReturnPolicy
from tests.conftest import postgres_in_use, redis_available, require_service
from tests.integration.conftest import _dedicated_db
from tests.integration.fault_support import real_broker, thread_worker
from tests.integration.waiting import wait_for
from tests.portal import outbox_backends
from tests.returns.factories import PolicyFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

REDIS_DB = 14  # this module's own: other worker suites use 10 to 13 and 15 at the same time
Status = Delivery.Status
SHOPPER = "amelie@shopper.example"


@pytest.fixture
def worker(settings: Any) -> Iterator[tuple[Celery, list[str]]]:
    """A worker on this module's Redis database whose mail backend fails as scripted."""
    require_service("PostgreSQL (DATABASE_URL)", postgres_in_use())
    url = os.environ.get("REDIS_URL", "") or settings.REDIS_URL
    require_service("Redis at REDIS_URL", bool(url) and redis_available(url))
    settings.EMAIL_BACKEND = "tests.portal.outbox_backends.ScriptedEmailBackend"
    outbox_backends.script.clear()
    with real_broker(_dedicated_db(url, REDIS_DB)) as app, thread_worker(app) as finished:
        yield app, finished
    outbox_backends.script.clear()


def ask_for_label(client: Any, policy: ReturnPolicy) -> None:
    response = client.post(
        reverse("returns:direct_link", args=[policy.link_token]),
        {
            "customer_name": "Amélie Tremblay",
            "customer_email": SHOPPER,
            "order_reference": "ORD-2026-0042",
            "purchase_date": timezone.localdate().isoformat(),
            "from_street": "55 rue Saint-Jean",
            "from_city": "Québec",
            "from_province": "QC",
            "from_postal_code": "G1R 1N9",
            "channel": Channel.ONLINE,
        },
    )
    assert response.status_code == 302


def label_email() -> Delivery:
    return Delivery.objects.get(kind="returns.label")


def sweep(finished: list[str]) -> None:
    """One sweep on the worker, and whatever it enqueued, finished."""
    sweeps, sends = finished.count(sweep_outbox.name), finished.count(send_delivery.name)
    sweep_outbox.delay()
    assert wait_for(lambda: finished.count(sweep_outbox.name) > sweeps)
    due = label_email().enqueued_at is not None and label_email().status == Status.PENDING
    if due:
        assert wait_for(lambda: finished.count(send_delivery.name) > sends)


def test_a_passing_provider_failure_is_retried_after_its_backoff_then_sent_once(
    client, worker, settings
):
    _app, finished = worker
    outbox_backends.script.append(
        ("before", smtplib.SMTPServerDisconnected("Connection unexpectedly closed"))
    )
    policy = PolicyFactory.create(channel=Channel.ONLINE)

    ask_for_label(client, policy)

    assert wait_for(lambda: label_email().attempts == 1 and label_email().last_error != "")
    failed = label_email()
    assert failed.status == Status.PENDING and mail.outbox == []
    assert failed.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert failed.claimed_at is not None
    wait = failed.next_attempt_at - failed.claimed_at  # 60 s after the failure, a moment later
    assert datetime.timedelta(seconds=60) <= wait < datetime.timedelta(seconds=90)

    settings.PORTAL_OUTBOX_REQUEUE_AFTER = 0
    sweep(finished)  # not due yet: the sweeper leaves it alone
    assert (label_email().attempts, mail.outbox) == (1, [])

    with time_machine.travel(failed.next_attempt_at + datetime.timedelta(seconds=1), tick=True):
        sweep(finished)
        assert wait_for(lambda: len(mail.outbox) == 1), "the retry did not send"
        sweep(finished)

    assert len(mail.outbox) == 1 and mail.outbox[0].to == [SHOPPER]
    sent = label_email()
    assert (sent.status, sent.attempts) == (Status.SENT, 2)


def test_a_refused_recipient_fails_at_once_and_staff_see_it_failed_with_its_error(
    client, worker, settings, mfa_staff_user
):
    _app, finished = worker
    outbox_backends.script.append(("before", AnymailRecipientsRefused(f"{SHOPPER} refused")))
    policy = PolicyFactory.create(channel=Channel.ONLINE)

    ask_for_label(client, policy)

    assert wait_for(lambda: label_email().status == Status.FAILED), label_email().last_error
    failed = label_email()
    assert failed.attempts == 1 and failed.last_error.startswith("AnymailRecipientsRefused")
    settings.PORTAL_OUTBOX_REQUEUE_AFTER = 0
    with time_machine.travel(timezone.now() + datetime.timedelta(days=1), tick=True):
        sweep(finished)
    assert label_email().attempts == 1 and mail.outbox == []

    client.force_login(mfa_staff_user.user)
    page = client.get(reverse("admin:portal_delivery_changelist"), {"status__exact": "failed"})
    assert page.status_code == 200
    listed = page.content.decode()
    assert SHOPPER in listed and "AnymailRecipientsRefused" in listed
    assert f'<td class="field-status">{Status.FAILED.label}</td>' in listed
