"""Payment methods: cards saved through the gateway (localstripe) by MANAGE, set default and removed
by VALIDATE, refused cards saving nothing, the gate, and no card number kept anywhere."""

import datetime
import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import stripe
import time_machine
from django.apps import apps
from django.core.management import call_command

from accounts.models import AuditEvent, BusinessAccount, Contact
from accounts.rights import Right
from billing import services
from billing.exceptions import (
    CardAlreadySaved,
    CardExpired,
    CardNotAccepted,
    NotAllowed,
    PaymentMethodNotFound,
    PaymentServiceUnavailable,
)
from billing.gateway import GatewayUnavailable, Refusal
from billing.hooks import Reason, payment_method_unusable
from billing.models import BillingProfile, PaymentMethod
from outages.features import Feature
from outages.gate import FeatureClosed
from portal.models import Delivery
from tests.accounts.factories import BusinessAccountFactory, ContactFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.billing import fakes
from tests.billing.conftest import DECLINED_CARD, GOOD_CARD, browser_setup, stripe_client
from tests.billing.factories import CardFactory
from tests.outages.factories import closing

pytestmark = pytest.mark.django_db
IP = "198.51.100.7"
Event = AuditEvent.Event


@pytest.fixture
def account() -> BusinessAccount:
    return BusinessAccountFactory.create(legal_name="Boréal Distribution Ltée")


@pytest.fixture
def manager(account: BusinessAccount) -> Any:
    return AccountLinkFactory.create(account=account, right=Right.MANAGE).user


@pytest.fixture
def validator(account: BusinessAccount) -> Any:
    return AccountLinkFactory.create(account=account, right=Right.VALIDATE).user


@pytest.fixture
def announced() -> Iterator[list[dict[str, Any]]]:
    """What billing.hooks.payment_method_unusable announced during the test."""
    received: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    payment_method_unusable.connect(receiver, weak=False, dispatch_uid="test_cards")
    yield received
    payment_method_unusable.disconnect(dispatch_uid="test_cards")


@pytest.fixture
def fake(settings: Any) -> type[fakes.FakeGateway]:
    return fakes.install(settings)


def add_card(
    actor: Any, account: BusinessAccount, base: str, number: str = GOOD_CARD, **card: Any
) -> PaymentMethod:
    """What the card page does: start a setup, the browser confirms it, the portal keeps it."""
    setup = services.start_card_setup(actor=actor, account=account)
    browser_setup(base, setup.setup_id, number, **card)
    return services.save_card(actor=actor, account=account, setup_id=setup.setup_id, ip=IP)


def emails(kind: str) -> list[str]:
    return sorted(Delivery.objects.filter(kind=kind).values_list("address", flat=True))


# --- saving a card ------------------------------------------------------------------------------


def test_the_first_card_saved_becomes_the_default_and_is_audited(account, manager, stripe_api):
    first = add_card(manager, account, stripe_api, name="Ana Roy")
    second = add_card(manager, account, stripe_api, exp_year=2033)

    first.refresh_from_db()
    assert (first.kind, first.status, first.is_default) == ("CARD", "ACTIVE", True)
    assert (first.brand, first.last4, first.expiry, first.holder_name) == (
        "visa",
        "4242",
        "12/2031",
        "Ana Roy",
    )
    assert first.gateway_id.startswith("pm_")
    assert first.added_by == manager
    assert not second.is_default
    assert second.expiry == "12/2033"
    customer = BillingProfile.objects.get(account=account).gateway_customer_id
    assert stripe_client(stripe_api).v1.payment_methods.retrieve(first.gateway_id).customer == (
        customer
    )
    added = AuditEvent.objects.filter(event=Event.CARD_ADDED, account=account).order_by("pk")
    assert [(e.actor, e.ip, e.details["default"]) for e in added] == [
        (manager, IP, True),
        (manager, IP, False),
    ]
    assert added[0].details["card"] == "Visa ending in 4242"


def test_the_gateway_customer_is_made_once_per_account(account, manager, stripe_api):
    add_card(manager, account, stripe_api)
    customer = BillingProfile.objects.get(account=account).gateway_customer_id

    add_card(manager, account, stripe_api)

    assert customer.startswith("cus_")
    assert BillingProfile.objects.get(account=account).gateway_customer_id == customer


def test_consult_cannot_add_a_card(account, manager, stripe_api):
    consultant = AccountLinkFactory.create(account=account, right=Right.CONSULT).user
    with pytest.raises(NotAllowed):
        services.start_card_setup(actor=consultant, account=account)

    setup = services.start_card_setup(actor=manager, account=account)
    browser_setup(stripe_api, setup.setup_id, GOOD_CARD)
    with pytest.raises(NotAllowed):
        services.save_card(actor=consultant, account=account, setup_id=setup.setup_id, ip=IP)

    assert not PaymentMethod.objects.exists()
    assert not AuditEvent.objects.filter(event=Event.CARD_ADDED).exists()


def test_a_user_of_another_business_cannot_add_a_card(account, manager, stripe_api):
    outsider = AccountLinkFactory.create(right=Right.VALIDATE).user  # on another account
    with pytest.raises(NotAllowed):
        services.start_card_setup(actor=outsider, account=account)

    setup = services.start_card_setup(actor=manager, account=account)
    browser_setup(stripe_api, setup.setup_id, GOOD_CARD)
    with pytest.raises(NotAllowed):
        services.save_card(actor=outsider, account=account, setup_id=setup.setup_id, ip=IP)

    assert not PaymentMethod.objects.exists()


def test_a_card_declined_at_the_gateway_saves_nothing(account, manager, stripe_api):
    setup = services.start_card_setup(actor=manager, account=account)
    with pytest.raises(stripe.CardError):
        browser_setup(stripe_api, setup.setup_id, DECLINED_CARD)

    with pytest.raises(CardNotAccepted) as refused:
        services.save_card(actor=manager, account=account, setup_id=setup.setup_id, ip=IP)

    assert refused.value.refusal == Refusal.DECLINED
    assert str(refused.value) == (
        "The card was declined. Nothing was saved or charged; try another card."
    )
    assert not PaymentMethod.objects.exists()
    assert not AuditEvent.objects.filter(event=Event.CARD_ADDED).exists()


@pytest.mark.parametrize(
    ("refusal", "says"),
    [
        (Refusal.INSUFFICIENT_FUNDS, "declined for insufficient funds"),
        (Refusal.EXPIRED, "The card has expired"),
        (Refusal.INCORRECT_CVC, "The security code (CVC) is incorrect"),
        (Refusal.AUTHENTICATION_REQUIRED, "asks for an authentication"),
        (Refusal.PROCESSING_ERROR, "could not be processed"),
    ],
)
def test_each_refusal_has_its_own_message_and_saves_nothing(account, manager, fake, refusal, says):
    setup = services.start_card_setup(actor=manager, account=account)
    fake.next_outcome = refusal

    with pytest.raises(CardNotAccepted) as refused:
        services.save_card(actor=manager, account=account, setup_id=setup.setup_id, ip=IP)

    assert refused.value.refusal == refusal
    assert says in str(refused.value)
    assert not PaymentMethod.objects.exists()
    assert not AuditEvent.objects.filter(event=Event.CARD_ADDED).exists()


def test_a_gateway_down_while_saving_saves_nothing(account, manager, fake):
    setup = services.start_card_setup(actor=manager, account=account)
    fake.next_outcome = GatewayUnavailable

    with pytest.raises(PaymentServiceUnavailable):
        services.save_card(actor=manager, account=account, setup_id=setup.setup_id, ip=IP)

    assert not PaymentMethod.objects.exists()


def test_a_card_past_its_expiry_is_refused(account, manager, stripe_api):
    with pytest.raises(CardExpired):
        add_card(manager, account, stripe_api, exp_year=2020)  # 12/2020

    assert not PaymentMethod.objects.exists()


def test_a_card_is_valid_through_the_last_day_of_its_expiry_month(account, manager, stripe_api):
    with time_machine.travel(datetime.datetime(2026, 12, 31, 23, 0, tzinfo=datetime.UTC)):
        assert add_card(manager, account, stripe_api, exp_year=2026).expiry == "12/2026"
    with (
        time_machine.travel(datetime.datetime(2027, 1, 1, 12, 0, tzinfo=datetime.UTC)),
        pytest.raises(CardExpired),
    ):
        add_card(manager, account, stripe_api, exp_year=2026)

    assert PaymentMethod.objects.count() == 1


def test_replaying_the_same_setup_saves_the_card_once(account, manager, stripe_api):
    setup = services.start_card_setup(actor=manager, account=account)
    browser_setup(stripe_api, setup.setup_id, GOOD_CARD)
    services.save_card(actor=manager, account=account, setup_id=setup.setup_id, ip=IP)

    with pytest.raises(CardAlreadySaved):
        services.save_card(actor=manager, account=account, setup_id=setup.setup_id, ip=IP)

    assert PaymentMethod.objects.count() == 1
    assert AuditEvent.objects.filter(event=Event.CARD_ADDED).count() == 1


# --- the default card ---------------------------------------------------------------------------


def test_a_validator_sets_another_card_as_default(account, validator):
    first = CardFactory.create(account=account, is_default=True)
    second = CardFactory.create(account=account)

    chosen = services.set_default_method(
        actor=validator, account=account, method_id=second.pk, ip=IP
    )

    first.refresh_from_db()
    assert chosen.is_default and not first.is_default
    assert list(PaymentMethod.objects.filter(is_default=True)) == [second]
    event = AuditEvent.objects.get(event=Event.DEFAULT_PAYMENT_METHOD_SET)
    assert (event.actor, event.details["method"]) == (validator, second.pk)


def test_manage_alone_cannot_set_the_default(account, manager):
    first = CardFactory.create(account=account, is_default=True)
    second = CardFactory.create(account=account)

    with pytest.raises(NotAllowed):
        services.set_default_method(actor=manager, account=account, method_id=second.pk, ip=IP)

    assert list(PaymentMethod.objects.filter(is_default=True)) == [first]


def test_a_card_of_another_account_or_removed_cannot_be_made_default(account, validator):
    mine = CardFactory.create(account=account, is_default=True)
    theirs = CardFactory.create()  # another account's
    removed = CardFactory.create(account=account, status=PaymentMethod.Status.REMOVED)

    for method in (theirs, removed):
        with pytest.raises(PaymentMethodNotFound):
            services.set_default_method(
                actor=validator, account=account, method_id=method.pk, ip=IP
            )

    assert list(PaymentMethod.objects.filter(is_default=True)) == [mine]
    assert not AuditEvent.objects.filter(event=Event.DEFAULT_PAYMENT_METHOD_SET).exists()


# --- removing a card ----------------------------------------------------------------------------


def test_removing_the_default_card_detaches_it_and_moves_the_default_to_the_newest_card(
    account, manager, validator, stripe_api, announced
):
    ContactFactory.create(account=account, role=Contact.Role.PRIMARY, email="owner@boreal.example")
    ContactFactory.create(account=account, role=Contact.Role.BILLING, email="ap@boreal.example")
    ContactFactory.create(account=account, role=Contact.Role.BILLING, email="AP@boreal.example")
    oldest = add_card(manager, account, stripe_api)
    middle = add_card(manager, account, stripe_api)
    newest = add_card(manager, account, stripe_api)
    assert oldest.is_default

    removed = services.remove_method(actor=validator, account=account, method_id=oldest.pk, ip=IP)

    removed.refresh_from_db()
    assert (removed.status, removed.is_default) == (PaymentMethod.Status.REMOVED, False)
    assert removed.ended_at is not None
    assert stripe_client(stripe_api).v1.payment_methods.retrieve(oldest.gateway_id).customer is None
    newest.refresh_from_db()
    middle.refresh_from_db()
    assert newest.is_default and not middle.is_default
    assert announced == [
        {
            "signal": payment_method_unusable,
            "account": account,
            "method": removed,
            "reason": Reason.METHOD_REMOVED,
        }
    ]
    # A commercial account's billing contacts are told, once per address.
    assert emails("billing.method_removed") == ["ap@boreal.example"]
    delivery = Delivery.objects.get(kind="billing.method_removed")
    # The card is named by id: the e-mail words it in each recipient's language.
    assert (delivery.account_id, delivery.facts["method_id"]) == (account.pk, oldest.pk)
    event = AuditEvent.objects.get(event=Event.PAYMENT_METHOD_REMOVED)
    assert (event.actor, event.ip, event.details["method"]) == (validator, IP, oldest.pk)


def test_removing_a_card_of_a_small_business_tells_its_primary_contacts(
    validator, manager, account, stripe_api, announced
):
    account.kind = BusinessAccount.Kind.SMALL_BUSINESS
    account.save()
    ContactFactory.create(account=account, role=Contact.Role.PRIMARY, email="owner@boreal.example")
    ContactFactory.create(account=account, role=Contact.Role.BILLING, email="ap@boreal.example")
    card = add_card(manager, account, stripe_api)

    services.remove_method(actor=validator, account=account, method_id=card.pk, ip=IP)

    assert emails("billing.method_removed") == ["owner@boreal.example"]
    assert not PaymentMethod.objects.filter(is_default=True).exists()  # no other card
    assert [a["reason"] for a in announced] == [Reason.METHOD_REMOVED]


def test_removing_needs_validate_and_a_card_of_the_account(
    account, manager, validator, stripe_api, announced
):
    card = add_card(manager, account, stripe_api)
    theirs = CardFactory.create()

    with pytest.raises(NotAllowed):
        services.remove_method(actor=manager, account=account, method_id=card.pk, ip=IP)
    with pytest.raises(PaymentMethodNotFound):
        services.remove_method(actor=validator, account=account, method_id=theirs.pk, ip=IP)

    services.remove_method(actor=validator, account=account, method_id=card.pk, ip=IP)
    with pytest.raises(PaymentMethodNotFound):  # removed already
        services.remove_method(actor=validator, account=account, method_id=card.pk, ip=IP)

    theirs.refresh_from_db()
    assert theirs.status == PaymentMethod.Status.ACTIVE
    assert len(announced) == 1
    assert AuditEvent.objects.filter(event=Event.PAYMENT_METHOD_REMOVED).count() == 1


def test_a_gateway_down_while_removing_keeps_the_card(account, validator, fake, announced):
    card = CardFactory.create(account=account, is_default=True)
    fake.next_outcome = GatewayUnavailable

    with pytest.raises(PaymentServiceUnavailable):
        services.remove_method(actor=validator, account=account, method_id=card.pk, ip=IP)

    card.refresh_from_db()
    assert (card.status, card.is_default) == (PaymentMethod.Status.ACTIVE, True)
    assert announced == []
    assert not Delivery.objects.filter(kind="billing.method_removed").exists()


# --- the gate -----------------------------------------------------------------------------------


def test_payment_methods_closed_for_maintenance_refuses_every_change(
    account, manager, validator, fake
):
    card = CardFactory.create(account=account, is_default=True)
    other = CardFactory.create(account=account)
    closing(Feature.PAYMENT_METHODS)

    with pytest.raises(FeatureClosed):
        services.start_card_setup(actor=manager, account=account)
    with pytest.raises(FeatureClosed):
        services.save_card(actor=manager, account=account, setup_id="seti_fake1", ip=IP)
    with pytest.raises(FeatureClosed):
        services.set_default_method(actor=validator, account=account, method_id=other.pk, ip=IP)
    with pytest.raises(FeatureClosed):
        services.remove_method(actor=validator, account=account, method_id=card.pk, ip=IP)

    assert PaymentMethod.objects.count() == 2
    card.refresh_from_db()
    assert (card.status, card.is_default) == (PaymentMethod.Status.ACTIVE, True)


# --- no card data kept --------------------------------------------------------------------------


def test_no_card_number_or_security_code_is_kept_anywhere(
    account, manager, validator, stripe_api, caplog
):
    ContactFactory.create(account=account, role=Contact.Role.BILLING, email="ap@boreal.example")
    setup = services.start_card_setup(actor=manager, account=account)
    browser_setup(stripe_api, setup.setup_id, GOOD_CARD)  # the browser, not the portal
    caplog.clear()

    with caplog.at_level(logging.DEBUG):
        card = services.save_card(actor=manager, account=account, setup_id=setup.setup_id, ip=IP)
        services.remove_method(actor=validator, account=account, method_id=card.pk, ip=IP)
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)

    everything = dump.getvalue()
    assert "ending in 4242" in everything  # the dump holds the card, its audit and its e-mail
    assert card.gateway_id in everything
    assert GOOD_CARD not in everything
    assert '"cvc"' not in everything.lower()
    assert setup.setup_id in caplog.text  # the gateway calls were logged...
    assert GOOD_CARD not in caplog.text  # ...without the number
    fields = [
        (model._meta.label, field.name.lower())
        for model in apps.get_models()
        for field in model._meta.get_fields()
    ]
    assert not [f for f in fields if any(word in f[1] for word in ("cvc", "cvv", "security"))]
    billing_numbers = [f for f in fields if f[0].startswith("billing.") and "number" in f[1]]
    assert billing_numbers == [("billing.Invoice", "number")]  # an invoice's, not a card's
