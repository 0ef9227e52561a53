"""The broker down while a person acts: a return label asked through the direct link, and an
invoice paid through localstripe. The page answers as usual (the change is committed), the
e-mails owed wait in the outbox, and once the broker is back the sweeper sends each one once.

test_outbox_worker.py and test_link_emails_worker.py cover removing a user and linking an
account the same way; these are the flows of a shopper (signed out) and of money.
"""

import datetime
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from celery import Celery
from celery.signals import task_postrun
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import BusinessAccount, Contact
from accounts.rights import Right
from billing import services as billing
from billing.models import Invoice, Payment, PaymentMethod
from portal.models import Delivery
from portal.tasks import sweep_outbox
from returns.models import Channel, ReturnLabel
from tests.accounts.factories import BusinessAccountFactory, ContactFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.billing import conftest as billing_fixtures
from tests.billing.conftest import GOOD_CARD, browser_setup
from tests.billing.factories import BillingProfileFactory, InvoiceFactory
from tests.conftest import redis_available, require_service
from tests.integration.conftest import _dedicated_db, _forget_connections
from tests.integration.waiting import wait_for
from tests.returns.factories import PolicyFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

REDIS_DB = 13  # this module's own: other worker suites use 11, 12 and 15 at the same time
DEAD_BROKER = f"redis://127.0.0.1:1/{REDIS_DB}"  # nothing listens on port 1
Status = Delivery.Status

# Billing's fixtures (localstripe as the gateway, the second factor taken as fresh), by name.
localstripe_base = billing_fixtures.localstripe_base
stripe_api = billing_fixtures.stripe_api
reauth_bypass = billing_fixtures.reauth_bypass


@pytest.fixture(scope="module")
def broker_url(broker_url: str) -> str:
    url = _dedicated_db(broker_url, REDIS_DB)
    require_service("Redis at REDIS_URL", redis_available(url))
    return url


@pytest.fixture(autouse=True)
def finished_sweeps() -> Iterator[list[str]]:
    """How many sweeps the worker finished; and its database connection closed after each task
    (an open one would stop the test database from being dropped at the end of the run)."""
    finished: list[str] = []

    def after_task(sender: Any = None, **kwargs: Any) -> None:
        if sender.name == sweep_outbox.name:
            finished.append(sender.name)
        connection.close()  # runs in the worker's thread, on the worker's connection

    task_postrun.connect(after_task, weak=False)
    yield finished
    task_postrun.disconnect(after_task)


@contextmanager
def broker_down(app: Celery) -> Iterator[None]:
    """Publishing fails (the web process lost the broker) while the worker keeps consuming."""
    app.conf.update(broker_write_url=DEAD_BROKER)
    _forget_connections(app)
    try:
        yield
    finally:
        app.conf.update(broker_write_url=None)
        _forget_connections(app)


def lost_hand_over_waits(before: int) -> bool:
    """Nothing goes out on its own: the task never reached the broker."""
    return not wait_for(lambda: len(mail.outbox) > before, 1.0)


def sweep_and_wait(finished: list[str], condition: Any) -> bool:
    """One sweep on the worker; True once it finished and `condition()` holds."""
    done = len(finished)
    sweep_outbox.delay()
    return wait_for(lambda: len(finished) > done and condition())


# --- a return label ------------------------------------------------------------------------------


def label_request(purchased: datetime.date) -> dict[str, str]:
    return {
        "customer_name": "Amélie Tremblay",
        "customer_email": "amelie@shopper.example",
        "order_reference": "ORD-2026-0042",
        "purchase_date": purchased.isoformat(),
        "from_street": "55 rue Saint-Jean",
        "from_city": "Québec",
        "from_province": "QC",
        "from_postal_code": "G1R 1N9",
        "channel": Channel.ONLINE,
    }


def test_a_label_asked_with_the_broker_down_is_issued_and_its_email_follows(
    client, celery_worker, finished_sweeps, settings
):
    policy = PolicyFactory.create(channel=Channel.ONLINE)
    purchased = timezone.localdate() - datetime.timedelta(days=3)

    with broker_down(celery_worker):
        response = client.post(
            reverse("returns:direct_link", args=[policy.link_token]), label_request(purchased)
        )

    label = ReturnLabel.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "returns:label_done", args=[policy.link_token, label.tracking_number]
    )
    assert lost_hand_over_waits(0)
    delivery = Delivery.objects.get(kind="returns.label")
    assert delivery.status == Status.PENDING

    settings.PORTAL_OUTBOX_REQUEUE_AFTER = 0  # the lost hand-over is due at once
    assert sweep_and_wait(finished_sweeps, lambda: len(mail.outbox) == 1), "nothing was sent"
    assert mail.outbox[0].to == ["amelie@shopper.example"]
    assert label.tracking_number in mail.outbox[0].body
    assert sweep_and_wait(finished_sweeps, lambda: True)
    assert len(mail.outbox) == 1  # a second sweep finds nothing owed
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SENT, 1)


# --- paying an invoice ---------------------------------------------------------------------------


def billed_account() -> BusinessAccount:
    """A commercial account billed to account, with two billing recipients."""
    account = BusinessAccountFactory.create(legal_name="Boréal Distribution Ltée")
    ContractFactory.create(account=account)
    BillingProfileFactory.create(account=account, terms_days=30)
    ContactFactory.create(account=account, role=Contact.Role.PRIMARY, email="chef@boreal.example")
    ContactFactory.create(account=account, role=Contact.Role.BILLING, email="ap@boreal.example")
    return account


def saved_card(account: BusinessAccount, base: str) -> PaymentMethod:
    preparer = AccountLinkFactory.create(account=account, right=Right.MANAGE).user
    setup = billing.start_card_setup(actor=preparer, account=account)
    browser_setup(base, setup.setup_id, GOOD_CARD)
    return billing.save_card(actor=preparer, account=account, setup_id=setup.setup_id, ip=None)


def test_an_invoice_paid_with_the_broker_down_is_paid_and_its_receipts_follow(
    client, celery_worker, finished_sweeps, stripe_api, reauth_bypass, settings
):
    account = billed_account()
    card = saved_card(account, stripe_api)
    invoice = InvoiceFactory.create(account=account)
    assert wait_for(lambda: not Delivery.objects.exclude(status=Status.SENT).exists())
    sent_before = len(mail.outbox)  # the card's own notice, sent while the broker was up
    client.force_login(AccountLinkFactory.create(account=account, right=Right.VALIDATE).user)
    pay = reverse("billing:pay", args=[account.pk, invoice.pk])

    with broker_down(celery_worker):
        response = client.post(pay, {"method": str(card.pk), "key": str(uuid.uuid4())})

    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert Payment.objects.get().status == Payment.Status.SUCCEEDED
    receipts = Delivery.objects.filter(kind="billing.invoice_paid")
    owed = sorted(receipts.values_list("address", flat=True))
    assert owed and set(receipts.values_list("status", flat=True)) == {Status.PENDING}
    assert lost_hand_over_waits(sent_before)

    settings.PORTAL_OUTBOX_REQUEUE_AFTER = 0
    assert sweep_and_wait(finished_sweeps, lambda: len(mail.outbox) == sent_before + len(owed))
    assert sorted(m.to[0] for m in mail.outbox[sent_before:]) == owed
    assert sweep_and_wait(finished_sweeps, lambda: True)
    assert len(mail.outbox) == sent_before + len(owed)
    assert set(receipts.values_list("status", "attempts")) == {(Status.SENT, 1)}
