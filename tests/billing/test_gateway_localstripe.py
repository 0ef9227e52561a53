"""The Stripe adapter against localstripe: customers, cards saved as Stripe.js would, charges and
refunds, each refusal as the portal's own, and a gateway that does not answer."""

from typing import Any

import pytest
import stripe

from billing.gateway import (
    CardRefused,
    GatewayUnavailable,
    Refusal,
    StripeGateway,
    get_gateway,
    refusal_of,
)
from tests import localstripe
from tests.billing.conftest import (
    CHARGE_DECLINED_CARD,
    DECLINED_CARD,
    EXPIRED_CARD,
    GOOD_CARD,
    INCORRECT_CVC_CARD,
    INSUFFICIENT_FUNDS_CARD,
    browser_setup,
    stripe_client,
)


@pytest.fixture
def gateway(stripe_api: str) -> StripeGateway:
    made = get_gateway()
    assert isinstance(made, StripeGateway)
    return made


@pytest.fixture
def customer(gateway: StripeGateway) -> str:
    return gateway.create_customer(reference="101", name="Northern Parcel Co.")


def saved_card(gateway: StripeGateway, base: str, customer: str, number: str = GOOD_CARD) -> Any:
    setup = gateway.start_card_setup(customer=customer)
    browser_setup(base, setup.setup_id, number)
    return gateway.finish_card_setup(customer=customer, setup_id=setup.setup_id)


def succeeded_charges(base: str, customer: str) -> list[Any]:
    listed = stripe_client(base).v1.charges.list(params={"customer": customer, "limit": 100})
    return [charge for charge in listed.data if charge.status == "succeeded"]


def test_a_customer_is_created_with_the_account_reference(gateway, stripe_api):
    customer_id = gateway.create_customer(reference="4242", name="Boréal Distribution Ltée")

    customer = stripe_client(stripe_api).v1.customers.retrieve(customer_id)
    assert customer_id.startswith("cus_")
    assert customer.name == "Boréal Distribution Ltée"
    assert customer.metadata is not None
    assert customer.metadata["portal_account"] == "4242"


def test_a_card_setup_finished_in_the_browser_keeps_what_identifies_the_card(
    gateway, customer, stripe_api
):
    setup = gateway.start_card_setup(customer=customer)
    assert setup.setup_id.startswith("seti_")
    assert setup.client_secret

    browser_setup(stripe_api, setup.setup_id, GOOD_CARD, exp_year=2032, name="Ana Roy")
    card = gateway.finish_card_setup(customer=customer, setup_id=setup.setup_id)

    assert card.gateway_id.startswith("pm_")
    assert (card.brand, card.last4, card.exp_month, card.exp_year, card.holder_name) == (
        "visa",
        "4242",
        12,
        2032,
        "Ana Roy",
    )
    method = stripe_client(stripe_api).v1.payment_methods.retrieve(card.gateway_id)
    assert method.customer == customer  # attached: it can be charged off-session


@pytest.mark.parametrize(
    "number", [DECLINED_CARD, INSUFFICIENT_FUNDS_CARD, EXPIRED_CARD, INCORRECT_CVC_CARD]
)
def test_a_card_refused_at_setup_is_a_card_refusal(gateway, customer, stripe_api, number):
    setup = gateway.start_card_setup(customer=customer)
    with pytest.raises(stripe.CardError) as shown:  # what Stripe.js shows in the browser
        browser_setup(stripe_api, setup.setup_id, number)

    with pytest.raises(CardRefused) as refused:
        gateway.finish_card_setup(customer=customer, setup_id=setup.setup_id)

    # localstripe declines all four with Stripe's generic code, no decline code, and cancels the
    # setup (Stripe would say insufficient_funds, expired_card, incorrect_cvc): the specific
    # refusals are the fake's to give (tests/billing/test_cards.py).
    assert (shown.value.code, getattr(shown.value.error, "decline_code", None)) == (
        "card_declined",
        None,
    )
    intent = stripe_client(stripe_api).v1.setup_intents.retrieve(setup.setup_id)
    assert intent.status == "canceled"
    assert refused.value.refusal == Refusal.DECLINED
    methods = stripe_client(stripe_api).v1.payment_methods.list(
        params={"customer": customer, "type": "card"}
    )
    assert methods.data == []  # nothing attached to the customer


def test_a_setup_of_another_customer_is_refused(gateway, customer, stripe_api):
    other = gateway.create_customer(reference="202", name="Someone Else Inc.")
    setup = gateway.start_card_setup(customer=other)
    browser_setup(stripe_api, setup.setup_id, GOOD_CARD)

    with pytest.raises(GatewayUnavailable):
        gateway.finish_card_setup(customer=customer, setup_id=setup.setup_id)

    method_id = stripe_client(stripe_api).v1.setup_intents.retrieve(setup.setup_id).payment_method
    assert stripe_client(stripe_api).v1.payment_methods.retrieve(str(method_id)).customer != (
        customer
    )


def test_an_unfinished_setup_is_refused(gateway, customer):
    setup = gateway.start_card_setup(customer=customer)  # the browser never confirmed it

    with pytest.raises(GatewayUnavailable):
        gateway.finish_card_setup(customer=customer, setup_id=setup.setup_id)


def test_a_saved_card_is_charged_off_session(gateway, customer, stripe_api):
    card = saved_card(gateway, stripe_api, customer)

    payment_id = gateway.charge(
        customer=customer,
        gateway_id=card.gateway_id,
        cents=11_300,
        description="Invoice 2026-000001",
        idempotency_key="test-charge-1",
    )

    assert payment_id.startswith("pi_")
    intent = stripe_client(stripe_api).v1.payment_intents.retrieve(payment_id)
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", 11_300, "cad")
    assert [charge.amount for charge in succeeded_charges(stripe_api, customer)] == [11_300]


def test_a_card_that_saves_but_is_declined_when_charged_raises_a_refusal(
    gateway, customer, stripe_api
):
    card = saved_card(gateway, stripe_api, customer, CHARGE_DECLINED_CARD)
    assert card.last4 == "0341"

    with pytest.raises(CardRefused) as refused:
        gateway.charge(
            customer=customer,
            gateway_id=card.gateway_id,
            cents=500,
            description="Return label",
            idempotency_key="test-declined-1",
        )

    assert refused.value.refusal == Refusal.DECLINED
    assert succeeded_charges(stripe_api, customer) == []


def test_a_charge_is_refunded(gateway, customer, stripe_api):
    card = saved_card(gateway, stripe_api, customer)
    payment_id = gateway.charge(
        customer=customer,
        gateway_id=card.gateway_id,
        cents=2_260,
        description="Return label",
        idempotency_key="test-refund-1",
    )

    refund_id = gateway.refund(payment_id=payment_id, cents=2_260)

    assert refund_id.startswith("re_")
    refund = stripe_client(stripe_api).v1.refunds.retrieve(refund_id)
    assert refund.amount == 2_260
    [charge] = succeeded_charges(stripe_api, customer)
    assert charge.refunded


def test_a_detached_card_no_longer_belongs_to_the_customer(gateway, customer, stripe_api):
    card = saved_card(gateway, stripe_api, customer)

    gateway.detach(gateway_id=card.gateway_id)

    assert stripe_client(stripe_api).v1.payment_methods.retrieve(card.gateway_id).customer is None


def test_a_gateway_that_does_not_answer_is_unavailable(stripe_api, settings):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{localstripe.free_port()}"  # nobody listens
    gateway = StripeGateway()

    with pytest.raises(GatewayUnavailable):
        gateway.create_customer(reference="303", name="Offline Inc.")
    with pytest.raises(GatewayUnavailable):
        gateway.charge(
            customer="cus_x",
            gateway_id="pm_x",
            cents=100,
            description="x",
            idempotency_key="test-down-1",
        )


def test_an_unknown_object_at_the_gateway_is_unavailable_not_a_crash(gateway, customer):
    with pytest.raises(GatewayUnavailable):
        gateway.finish_card_setup(customer=customer, setup_id="seti_doesnotexist")


@pytest.mark.parametrize(
    ("code", "decline_code", "refusal"),
    [
        ("card_declined", "insufficient_funds", Refusal.INSUFFICIENT_FUNDS),
        ("insufficient_funds", None, Refusal.INSUFFICIENT_FUNDS),
        ("expired_card", None, Refusal.EXPIRED),
        ("card_declined", "expired_card", Refusal.EXPIRED),
        ("incorrect_cvc", None, Refusal.INCORRECT_CVC),
        ("invalid_cvc", None, Refusal.INCORRECT_CVC),
        ("authentication_required", None, Refusal.AUTHENTICATION_REQUIRED),
        ("processing_error", None, Refusal.PROCESSING_ERROR),
        ("card_declined", "generic_decline", Refusal.DECLINED),
        ("card_declined", None, Refusal.DECLINED),
        ("something_new", "never_seen", Refusal.DECLINED),
        (None, None, Refusal.DECLINED),
    ],
)
def test_stripe_codes_map_to_the_portals_refusals(code, decline_code, refusal):
    assert refusal_of(code, decline_code) == refusal
