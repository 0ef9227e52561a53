"""Recording a charge: how each kind of account pays (card now through localstripe, supplier
account, or the next invoice), once per source, taxed by province, and nothing left on a decline."""

import datetime
import threading
import time
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from django.db import connection

from accounts.models import AuditEvent, BusinessAccount, Contract
from accounts.rights import Right
from billing import services
from billing.exceptions import (
    CardNotAccepted,
    NoUsablePaymentMethod,
    PaymentMethodNotFound,
    PaymentServiceUnavailable,
)
from billing.gateway import GatewayUnavailable, Refusal
from billing.models import BillingProfile, Charge, ChargeRefusal, PaymentMethod
from billing.services import charges as charges_module
from outages.features import Feature
from outages.gate import FeatureClosed
from tests import localstripe
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.billing import fakes
from tests.billing.conftest import (
    CHARGE_DECLINED_CARD,
    GOOD_CARD,
    browser_setup,
    stripe_client,
)
from tests.billing.factories import BillingProfileFactory, CardFactory, SupplierAccountFactory
from tests.conftest import postgres_in_use, require_service
from tests.factories import UserFactory
from tests.outages.factories import closing

D = Decimal
IP = "198.51.100.8"
SMALL = BusinessAccount.Kind.SMALL_BUSINESS


def add_card(account: BusinessAccount, base: str, number: str = GOOD_CARD) -> PaymentMethod:
    """A card saved as the card page saves it, by a user who may manage the account."""
    actor = AccountLinkFactory.create(account=account, right=Right.MANAGE).user
    setup = services.start_card_setup(actor=actor, account=account)
    browser_setup(base, setup.setup_id, number)
    return services.save_card(actor=actor, account=account, setup_id=setup.setup_id, ip=IP)


def gateway_charges(base: str, account: BusinessAccount) -> list[int]:
    """The amounts (cents) the gateway actually took from the account's customer."""
    customer = BillingProfile.objects.get(account=account).gateway_customer_id
    listed = stripe_client(base).v1.charges.list(params={"customer": customer, "limit": 100})
    return [charge.amount for charge in listed.data if charge.status == "succeeded"]


def on_terms(province: str = "ON", terms_days: int = 30) -> BusinessAccount:
    """A commercial account with an active agreement and credit terms: billed to account."""
    account = BusinessAccountFactory.create(province=province)
    ContractFactory.create(account=account)
    BillingProfileFactory.create(account=account, terms_days=terms_days)
    return account


@pytest.fixture
def no_gateway(settings: Any) -> None:
    """A gateway nobody answers: a test passing with it made no gateway call."""
    settings.BILLING_GATEWAY = "billing.gateway.StripeGateway"
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{localstripe.free_port()}"


def charge(account: BusinessAccount, source: str = "label:CA100", **options: Any) -> Charge:
    options.setdefault("amount", D("10.00"))
    return services.charge_for(
        account=account, description="Return label", source=source, **options
    )


# --- paying at order time -----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_small_business_pays_at_once_with_its_default_card(stripe_api):
    account = BusinessAccountFactory.create(kind=SMALL)
    card = add_card(account, stripe_api)

    made = charge(account, quantity=3)

    made.refresh_from_db()
    assert (made.status, made.payment_method, made.quantity) == (Charge.Status.PAID, card, 3)
    assert made.gateway_payment_id.startswith("pi_")
    assert (made.amount, made.hst, made.total, made.province) == (
        D("10.00"),
        D("1.30"),
        D("11.30"),
        "ON",
    )
    assert gateway_charges(stripe_api, account) == [1130]


@pytest.mark.django_db
def test_the_card_the_caller_names_pays_instead_of_the_default(stripe_api):
    account = BusinessAccountFactory.create(kind=SMALL)
    add_card(account, stripe_api)
    chosen = add_card(account, stripe_api)
    theirs = CardFactory.create()

    made = charge(account, method_id=chosen.pk)
    with pytest.raises(PaymentMethodNotFound):
        charge(account, source="label:CA200", method_id=theirs.pk)

    assert made.payment_method == chosen
    assert Charge.objects.count() == 1


@pytest.mark.django_db
def test_the_same_source_charged_twice_is_one_charge(stripe_api):
    account = BusinessAccountFactory.create(kind=SMALL)
    add_card(account, stripe_api)

    first = charge(account, source="label:CA300")
    again = charge(account, source="label:CA300", amount=D("99.00"))

    assert again.pk == first.pk
    assert again.total == D("11.30")
    assert Charge.objects.count() == 1
    assert gateway_charges(stripe_api, account) == [1130]


@pytest.mark.django_db
def test_a_card_declined_when_charged_leaves_no_charge(stripe_api):
    account = BusinessAccountFactory.create(kind=SMALL)
    add_card(account, stripe_api, CHARGE_DECLINED_CARD)  # saves fine, every charge declined

    with pytest.raises(CardNotAccepted) as refused:
        charge(account, source="label:CA400")

    assert refused.value.refusal == Refusal.DECLINED
    assert not Charge.objects.exists()
    assert gateway_charges(stripe_api, account) == []
    # Nothing was recorded for the source: paying it with another card later works.
    other = add_card(account, stripe_api)
    assert charge(account, source="label:CA400", method_id=other.pk).status == Charge.Status.PAID


@pytest.mark.django_db
def test_insufficient_funds_has_its_own_message_and_leaves_no_charge(settings):
    fake = fakes.install(settings)
    account = BusinessAccountFactory.create(kind=SMALL)
    CardFactory.create(account=account, is_default=True)
    fake.next_outcome = Refusal.INSUFFICIENT_FUNDS

    with pytest.raises(CardNotAccepted) as refused:
        charge(account)

    assert "insufficient funds" in str(refused.value)
    assert not Charge.objects.exists()
    assert fake.charges == []


@pytest.mark.django_db
def test_a_gateway_down_during_the_charge_records_nothing(settings):
    fake = fakes.install(settings)
    account = BusinessAccountFactory.create(kind=SMALL)
    CardFactory.create(account=account, is_default=True)
    fake.next_outcome = GatewayUnavailable

    with pytest.raises(PaymentServiceUnavailable):
        charge(account)

    assert not Charge.objects.exists()


class KeyRecordingGateway(fakes.FakeGateway):
    """The fake gateway, keeping the idempotency key of every charge asked, failed ones too."""

    keys: ClassVar[list[str]] = []

    def charge(self, **asked: Any) -> str:
        self.keys.append(asked["idempotency_key"])
        return super().charge(**asked)


@pytest.mark.django_db
def test_a_charge_tried_again_after_a_lost_answer_is_the_same_charge_until_a_refusal(settings):
    """An answer lost on its way back records nothing, and returns' hourly job charges the label
    again: the gateway must see the same charge (real Stripe replays it), or it would take the
    money twice. A refusal is recorded, and the next try is a new charge."""
    fakes.install(settings)
    settings.BILLING_GATEWAY = f"{__name__}.KeyRecordingGateway"
    gateway, gateway.keys = KeyRecordingGateway, []
    account = BusinessAccountFactory.create(kind=SMALL)
    card = CardFactory.create(account=account, is_default=True)

    gateway.next_outcome = GatewayUnavailable
    with pytest.raises(PaymentServiceUnavailable):
        charge(account, source="label:CA700")
    gateway.next_outcome = Refusal.INSUFFICIENT_FUNDS
    with pytest.raises(CardNotAccepted):
        charge(account, source="label:CA700")
    made = charge(account, source="label:CA700")
    charge(account, source="label:CA701")

    lost, refused, paid, other_source = gateway.keys
    assert lost == refused and len({refused, paid, other_source}) == 3
    refusal = ChargeRefusal.objects.get()
    assert (refusal.account, refusal.source_reference, refusal.payment_method, refusal.reason) == (
        account,
        "label:CA700",
        card,
        Refusal.INSUFFICIENT_FUNDS,
    )
    assert made.status == Charge.Status.PAID
    assert [c.idempotency_key for c in fakes.FakeGateway.charges] == [paid, other_source]


@pytest.mark.django_db
def test_an_account_without_a_usable_card_cannot_pay(no_gateway):
    account = BusinessAccountFactory.create(kind=SMALL)
    CardFactory.create(account=account, status=PaymentMethod.Status.EXPIRED)
    CardFactory.create(account=account, status=PaymentMethod.Status.REMOVED)

    with pytest.raises(NoUsablePaymentMethod):
        charge(account)

    assert not Charge.objects.exists()


@pytest.mark.django_db
def test_a_supplier_account_pays_without_the_gateway(no_gateway):
    account = BusinessAccountFactory.create(kind=SMALL)
    supplier = SupplierAccountFactory.create(account=account, is_default=True)

    made = charge(account)

    assert (made.status, made.payment_method, made.gateway_payment_id) == (
        Charge.Status.SUPPLIER,
        supplier,
        "",
    )
    assert made.total == D("11.30")


# --- billed to account --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_commercial_account_on_terms_waits_for_its_invoice(no_gateway):
    account = on_terms()
    CardFactory.create(account=account, is_default=True)  # kept, but not used for this

    made = charge(account)

    assert (made.status, made.payment_method, made.gateway_payment_id) == (
        Charge.Status.AWAITING_INVOICE,
        None,
        "",
    )
    assert made.invoice is None


@pytest.mark.django_db
def test_an_agreement_pays_through_the_invoice_of_an_account_billed_to_account(no_gateway):
    account = on_terms()
    CardFactory.create(account=account, is_default=True)

    made = charge(account, by_agreement=True)

    assert (made.status, made.payment_method) == (Charge.Status.AWAITING_INVOICE, None)


@pytest.mark.django_db
def test_an_agreement_cannot_pay_where_no_invoice_will_come(no_gateway):
    """Paying when ordering, the account gets no invoice: its default card is not charged in
    the agreement's stead, and nothing is recorded."""
    account = BusinessAccountFactory.create()
    ContractFactory.create(account=account)
    BillingProfileFactory.create(account=account, terms_days=None)
    CardFactory.create(account=account, is_default=True)

    with pytest.raises(NoUsablePaymentMethod):
        charge(account, by_agreement=True)

    assert not Charge.objects.exists()


@pytest.mark.django_db
def test_the_card_named_pays_at_once_even_on_an_account_billed_to_account(settings):
    fake = fakes.install(settings)
    account = on_terms()
    card = CardFactory.create(account=account)

    made = charge(account, method_id=card.pk)

    assert (made.status, made.payment_method) == (Charge.Status.PAID, card)
    assert [taken.gateway_id for taken in fake.charges] == [card.gateway_id]


@pytest.mark.django_db
def test_a_charge_is_paid_one_way(no_gateway):
    account = on_terms()
    card = CardFactory.create(account=account)

    with pytest.raises(AssertionError, match=r"^a charge is paid one way$"):
        charge(account, method_id=card.pk, by_agreement=True)


@pytest.mark.django_db
def test_only_refusals_of_the_same_source_and_account_make_a_new_key(settings):
    """Another account's refusal of a source of the same name, or a refusal of another source,
    leaves this source's key as it was: a retry of its lost answer stays one charge."""
    fakes.install(settings)
    settings.BILLING_GATEWAY = f"{__name__}.KeyRecordingGateway"
    gateway, gateway.keys = KeyRecordingGateway, []
    account, other = (BusinessAccountFactory.create(kind=SMALL) for _ in range(2))
    for owner in (account, other):
        CardFactory.create(account=owner, is_default=True)
    gateway.next_outcome = GatewayUnavailable
    with pytest.raises(PaymentServiceUnavailable):
        charge(account, source="label:CA800")

    for refused_account, source in ((other, "label:CA800"), (account, "label:CA801")):
        gateway.next_outcome = Refusal.DECLINED
        with pytest.raises(CardNotAccepted):
            charge(refused_account, source=source)
    charge(account, source="label:CA800")

    assert gateway.keys[0] == gateway.keys[-1]


@pytest.mark.django_db
@pytest.mark.parametrize("without", ["terms", "active agreement"])
def test_a_commercial_account_without_terms_or_agreement_pays_by_card(stripe_api, without):
    account = BusinessAccountFactory.create()
    ContractFactory.create(
        account=account,
        status=Contract.Status.EXPIRED if without == "active agreement" else Contract.Status.ACTIVE,
    )
    BillingProfileFactory.create(account=account, terms_days=None if without == "terms" else 15)
    add_card(account, stripe_api)

    made = charge(account)

    assert made.status == Charge.Status.PAID
    assert gateway_charges(stripe_api, account) == [1130]


@pytest.mark.django_db
def test_online_payment_closed_stops_card_charges_but_not_billing_to_account(no_gateway):
    closing(Feature.ONLINE_PAYMENT)
    by_card = BusinessAccountFactory.create(kind=SMALL)
    BillingProfileFactory.create(account=by_card, gateway_customer_id="cus_saved")
    CardFactory.create(account=by_card, is_default=True)
    billed = on_terms()

    with pytest.raises(FeatureClosed):
        charge(by_card)
    waiting = charge(billed)

    assert not Charge.objects.filter(account=by_card).exists()
    assert waiting.status == Charge.Status.AWAITING_INVOICE


# --- tax ----------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("province", "at", "taxes", "total"),
    [
        ("ON", "2026-06-15T12:00", {"hst": "13.00"}, "113.00"),
        ("QC", "2026-06-15T12:00", {"gst": "5.00", "qst": "9.98"}, "114.98"),
        ("BC", "2026-06-15T12:00", {"gst": "5.00", "pst": "7.00"}, "112.00"),
        ("AB", "2026-06-15T12:00", {"gst": "5.00"}, "105.00"),
        ("NS", "2025-03-31T12:00", {"hst": "15.00"}, "115.00"),
        ("NS", "2025-04-01T12:00", {"hst": "14.00"}, "114.00"),
    ],
)
def test_a_charge_is_taxed_by_the_accounts_province_on_its_day(
    no_gateway, province, at, taxes, total
):
    account = on_terms(province=province)
    moment = datetime.datetime.fromisoformat(at).replace(tzinfo=datetime.UTC)

    made = charge(account, amount=D("100"), at=moment)

    made.refresh_from_db()
    expected = {"gst": D("0"), "hst": D("0"), "pst": D("0"), "qst": D("0")}
    expected.update({tax: D(value) for tax, value in taxes.items()})
    assert {tax: getattr(made, tax) for tax in expected} == expected
    assert (made.amount, made.total, made.province, made.charged_at) == (
        D("100.00"),
        D(total),
        province,
        moment,
    )


@pytest.mark.django_db
def test_each_tax_of_a_charge_is_rounded_half_up(no_gateway):
    quebec = on_terms(province="QC")
    alberta = on_terms(province="AB")

    qc = charge(quebec, amount=D("19.99"))
    ab = charge(alberta, amount=D("12.50"))

    assert (qc.gst, qc.qst, qc.total) == (D("1.00"), D("1.99"), D("22.98"))
    assert (ab.gst, ab.total) == (D("0.63"), D("13.13"))


# --- refunds ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_card_charge_is_refunded_in_full_once(stripe_api):
    account = BusinessAccountFactory.create(kind=SMALL)
    add_card(account, stripe_api)
    paid = charge(account)

    staff = UserFactory.create(is_staff=True)
    refunded = services.refund_charge(staff=staff, charge_id=paid.pk)
    again = services.refund_charge(staff=staff, charge_id=paid.pk)

    assert refunded.status == again.status == Charge.Status.REFUNDED
    [event] = AuditEvent.objects.filter(event=AuditEvent.Event.CHARGE_REFUNDED)
    assert (event.actor, event.account, event.details["charge"]) == (staff, account, paid.pk)
    customer = BillingProfile.objects.get(account=account).gateway_customer_id
    [taken] = stripe_client(stripe_api).v1.charges.list(params={"customer": customer}).data
    assert (taken.amount_refunded, taken.refunded) == (1130, True)


@pytest.mark.django_db
def test_a_charge_not_paid_by_card_is_not_refunded(no_gateway):
    waiting = charge(on_terms())

    staff = UserFactory.create(is_staff=True)
    refused = services.refund_charge(staff=staff, charge_id=waiting.pk)

    assert refused.status == Charge.Status.AWAITING_INVOICE
    assert not AuditEvent.objects.filter(event=AuditEvent.Event.CHARGE_REFUNDED).exists()


# --- concurrency (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_charges_of_the_same_source_at_once_make_one_charge(stripe_api, monkeypatch):
    require_service("PostgreSQL (DATABASE_URL)", postgres_in_use())
    account = BusinessAccountFactory.create(kind=SMALL)
    add_card(account, stripe_api)
    # Hold each transaction open a moment once it priced the charge, so the second request
    # arrives while the first has not committed.
    real_taxed = charges_module.taxed

    def slow_taxed(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.3)
        return real_taxed(*args, **kwargs)

    monkeypatch.setattr(charges_module, "taxed", slow_taxed)
    start = threading.Barrier(2)
    made: list[int] = []
    failed: list[Exception] = []

    def pay() -> None:
        try:
            start.wait()
            made.append(charge(account, source="label:CA999").pk)
        except Exception as error:  # any failure is the test's, reported below
            failed.append(error)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=pay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert failed == []
    assert len(made) == 2 and made[0] == made[1]
    assert Charge.objects.filter(account=account).count() == 1
    assert gateway_charges(stripe_api, account) == [1130]
