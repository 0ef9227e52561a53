"""The payment gateway down or not answering, through the pages: paying an invoice and removing a
card say so in plain words, record nothing, suspend no return policy, and a retry of the same
page pays once (it sends the same idempotency key, so the gateway charges once).

localstripe is the gateway; a closed port stands for it down, and tests/integration/tcp_proxy.py
in front of it (holding every request unanswered) for a gateway that stopped answering.
"""

import html
import re
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, BusinessAccount, Contact
from accounts.rights import Right
from billing import services
from billing.models import BillingProfile, Invoice, Payment, PaymentMethod
from portal.models import Delivery
from returns.models import ReturnPolicy
from tests import localstripe
from tests.accounts.factories import BusinessAccountFactory, ContactFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.billing.conftest import GOOD_CARD, browser_setup, stripe_client
from tests.billing.factories import BillingProfileFactory, InvoiceFactory
from tests.integration.tcp_proxy import TcpProxy
from tests.returns.factories import PolicyFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reauth_bypass")]

NOT_ANSWERING = (
    "The payment service is not answering. Nothing was saved or charged; please try again "
    "in a few minutes."
)


@pytest.fixture
def account() -> BusinessAccount:
    account = BusinessAccountFactory.create(legal_name="Boréal Distribution Ltée")
    ContractFactory.create(account=account)
    BillingProfileFactory.create(account=account, terms_days=30)
    ContactFactory.create(account=account, role=Contact.Role.BILLING, email="ap@boreal.example")
    return account


@pytest.fixture
def card(account: BusinessAccount, stripe_api: str) -> PaymentMethod:
    """A card saved through localstripe, as the card page and Stripe.js would."""
    preparer = AccountLinkFactory.create(account=account, right=Right.MANAGE).user
    setup = services.start_card_setup(actor=preparer, account=account)
    browser_setup(stripe_api, setup.setup_id, GOOD_CARD)
    return services.save_card(actor=preparer, account=account, setup_id=setup.setup_id, ip=None)


@pytest.fixture
def policy(account: BusinessAccount, card: PaymentMethod) -> ReturnPolicy:
    """A return policy whose labels the card pays: it must stay active through any outage."""
    return PolicyFactory.create(account=account, payment_method=card)


@pytest.fixture
def validator(client: Client, account: BusinessAccount) -> Client:
    client.force_login(AccountLinkFactory.create(account=account, right=Right.VALIDATE).user)
    return client


def closed_port() -> str:
    return f"http://127.0.0.1:{localstripe.free_port()}"  # bound a moment, then nobody listens


def page_text(response: Any) -> str:
    return html.unescape(response.content.decode())


def pay(client: Client, invoice: Invoice, card: PaymentMethod, key: str) -> Any:
    url = reverse("billing:pay", args=[invoice.account_id, invoice.pk])
    return client.post(url, {"method": str(card.pk), "key": key})


def gateway_charges(base: str, account: BusinessAccount) -> list[int]:
    customer = BillingProfile.objects.get(account=account).gateway_customer_id
    listed = stripe_client(base).v1.charges.list(params={"customer": customer, "limit": 100})
    return [charge.amount for charge in listed.data if charge.status == "succeeded"]


def nothing_changed(invoice: Invoice, card: PaymentMethod, policy: ReturnPolicy) -> None:
    invoice.refresh_from_db()
    card.refresh_from_db()
    policy.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN and invoice.amount_paid == 0
    assert not Payment.objects.exists()
    assert card.status == PaymentMethod.Status.ACTIVE
    assert policy.status == ReturnPolicy.Status.ACTIVE
    assert not Delivery.objects.filter(kind__startswith="billing.").exists()


def test_paying_while_the_gateway_is_down_says_so_and_the_same_page_later_pays_once(
    validator, account, card, policy, stripe_api, settings
):
    invoice = InvoiceFactory.create(account=account)
    key = str(uuid.uuid4())
    audited = AuditEvent.objects.count()
    settings.STRIPE_API_BASE = closed_port()

    response = pay(validator, invoice, card, key)

    assert response.status_code == 200
    assert NOT_ANSWERING in page_text(response)
    nothing_changed(invoice, card, policy)
    assert AuditEvent.objects.count() == audited

    settings.STRIPE_API_BASE = stripe_api
    again = pay(validator, invoice, card, key)  # the person sends the same page again

    assert again.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert Payment.objects.get().status == Payment.Status.SUCCEEDED
    assert gateway_charges(stripe_api, account) == [11_300]


def test_a_gateway_that_stops_answering_costs_the_page_seconds_and_the_retry_reuses_its_key(
    validator, account, card, policy, stripe_api, settings
):
    invoice = InvoiceFactory.create(account=account)
    key = str(uuid.uuid4())
    upstream = urlsplit(stripe_api)
    settings.STRIPE_TIMEOUT_SECONDS = 0.5

    with TcpProxy((upstream.hostname or "", upstream.port or 0), hold_seconds=20) as silent:
        settings.STRIPE_API_BASE = f"http://127.0.0.1:{silent.port}"
        started = time.monotonic()
        response = pay(validator, invoice, card, key)
        elapsed = time.monotonic() - started

    # Three tries of half a second and the library's pauses between them, not 3 x 80 s.
    assert elapsed < 10, f"the page waited {elapsed:.1f} s"
    assert response.status_code == 200
    assert NOT_ANSWERING in page_text(response)
    assert offered_key(response) == key  # the page's "Pay" button sends the same charge again
    nothing_changed(invoice, card, policy)
    tries = [request.decode("latin-1") for request in silent.received]
    assert len(tries) == 3 and all(t.startswith("POST /v1/payment_intents") for t in tries)
    sent_keys = {_idempotency_key(request) for request in tries}
    assert len(sent_keys) == 1  # had the gateway charged on any try, the others change nothing

    settings.STRIPE_API_BASE = stripe_api
    assert pay(validator, invoice, card, offered_key(response)).status_code == 302
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.SUCCEEDED
    assert gateway_charges(stripe_api, account) == [11_300]
    policy.refresh_from_db()
    assert policy.status == ReturnPolicy.Status.ACTIVE


def test_a_reloaded_pay_page_sends_the_gateway_the_same_charge_until_a_refusal(
    validator, account, card, policy, stripe_api, settings
):
    """The answer to a charge lost on its way back records nothing; the person reloads the page
    (a new page key) and pays again: the gateway must see the same charge, or real Stripe would
    take the money twice."""
    invoice = InvoiceFactory.create(account=account)
    upstream = urlsplit(stripe_api)
    settings.STRIPE_TIMEOUT_SECONDS = 0.5

    def keys_sent_by_a_fresh_page() -> set[str]:
        with TcpProxy((upstream.hostname or "", upstream.port or 0), hold_seconds=5) as silent:
            settings.STRIPE_API_BASE = f"http://127.0.0.1:{silent.port}"
            assert NOT_ANSWERING in page_text(pay(validator, invoice, card, str(uuid.uuid4())))
        return {_idempotency_key(request.decode("latin-1")) for request in silent.received}

    first, reloaded = keys_sent_by_a_fresh_page(), keys_sent_by_a_fresh_page()

    assert len(first) == 1 and first == reloaded
    nothing_changed(invoice, card, policy)
    settings.STRIPE_API_BASE = stripe_api
    assert pay(validator, invoice, card, str(uuid.uuid4())).status_code == 302
    assert gateway_charges(stripe_api, account) == [11_300]


def offered_key(response: Any) -> str:
    found = re.search(r'name="key" value="([^"]+)"', page_text(response))
    return found.group(1) if found else ""


def _idempotency_key(request: str) -> str:
    for line in request.split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "idempotency-key":
            return value.strip()
    return ""


def test_removing_a_card_while_the_gateway_is_down_keeps_it_and_its_policies(
    validator, account, card, policy, settings
):
    invoice = InvoiceFactory.create(account=account)
    settings.STRIPE_API_BASE = closed_port()

    response = validator.post(reverse("billing:remove_method", args=[account.pk, card.pk]))

    assert response.status_code == 200
    assert NOT_ANSWERING in page_text(response)
    nothing_changed(invoice, card, policy)


def test_the_card_page_with_the_gateway_down_says_so(validator, account, settings):
    AccountLinkFactory.create(account=account, right=Right.MANAGE)
    settings.STRIPE_API_BASE = closed_port()

    response = validator.get(reverse("billing:add_card", args=[account.pk]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("billing:methods", args=[account.pk])
    assert NOT_ANSWERING in page_text(response)
    assert not PaymentMethod.objects.filter(account=account).exists()
