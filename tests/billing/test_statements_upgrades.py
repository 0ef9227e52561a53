"""Monthly statements of small businesses, upgrade reviews and credit readiness, conversions both
ways, and the nightly card-expiry job."""

import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AuditEvent, BusinessAccount, Contact, Contract
from accounts.rights import Right
from billing import hooks, selectors, services, tasks
from billing.exceptions import AlreadyOfThatKind, TermsNeedAgreement
from billing.hooks import Reason, payment_method_unusable
from billing.models import BillingProfile, Charge, Invoice, Payment, PaymentMethod, Statement
from billing.models import UpgradeReview as Review
from billing.periods import EASTERN
from portal.models import Delivery
from tests.accounts.factories import BusinessAccountFactory, ContactFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.billing.conftest import GOOD_CARD, browser_setup
from tests.billing.factories import (
    BillingProfileFactory,
    CardFactory,
    ChargeFactory,
    InvoiceFactory,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
D = Decimal
IP = "198.51.100.10"
SMALL = BusinessAccount.Kind.SMALL_BUSINESS
COMMERCIAL = BusinessAccount.Kind.COMMERCIAL


def eastern(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=EASTERN)


def with_contacts(account: BusinessAccount) -> BusinessAccount:
    ContactFactory.create(account=account, role=Contact.Role.PRIMARY, email=f"p{account.pk}@x.ca")
    ContactFactory.create(account=account, role=Contact.Role.BILLING, email=f"ap{account.pk}@x.ca")
    return account


def small_business(**fields: Any) -> BusinessAccount:
    return with_contacts(BusinessAccountFactory.create(kind=SMALL, **fields))


def emails(kind: str) -> list[str]:
    return sorted(Delivery.objects.filter(kind=kind).values_list("address", flat=True))


def paid(account: BusinessAccount, at: datetime.datetime, **fields: Any) -> Charge:
    fields.setdefault("status", Charge.Status.PAID)
    return ChargeFactory.create(account=account, charged_at=at, **fields)


@pytest.fixture
def announced() -> Iterator[list[dict[str, Any]]]:
    received: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    payment_method_unusable.connect(receiver, weak=False, dispatch_uid="test_statements")
    yield received
    payment_method_unusable.disconnect(dispatch_uid="test_statements")


@pytest.fixture
def staff() -> Any:
    return UserFactory.create(is_staff=True)


# --- statements ---------------------------------------------------------------------------------


def test_a_statement_gathers_the_eastern_months_charges_paid_at_order_time():
    account = small_business()
    october = [
        paid(account, eastern(2026, 10, 5, 9, 0)),
        paid(
            account,
            eastern(2026, 10, 31, 23, 30),
            status=Charge.Status.SUPPLIER,
            amount=D("20.00"),
            hst=D("2.60"),
            total=D("22.60"),
        ),
    ]
    left_out = [
        # Paid and refunded within the month: nothing to state.
        paid(account, eastern(2026, 10, 15, 9, 0), status=Charge.Status.REFUNDED),
        paid(account, eastern(2026, 10, 10, 9, 0), status=Charge.Status.AWAITING_INVOICE),
        paid(account, eastern(2026, 10, 11, 9, 0), status=Charge.Status.INVOICED),
        paid(account, eastern(2026, 11, 1, 0, 30)),
        paid(account, eastern(2026, 9, 30, 23, 30)),
    ]

    with time_machine.travel(eastern(2026, 11, 1, 7, 0), tick=False):
        assert tasks.issue_statements() == 1

    statement = Statement.objects.get()
    assert (statement.account, statement.period_start, statement.period_end) == (
        account,
        datetime.date(2026, 10, 1),
        datetime.date(2026, 10, 31),
    )
    assert (statement.issued_on, statement.charge_count) == (datetime.date(2026, 11, 1), 2)
    for column in ("amount", "gst", "hst", "pst", "qst", "total"):
        assert getattr(statement, column) == sum(getattr(c, column) for c in october), column
    assert (statement.amount, statement.hst, statement.total) == (
        D("30.00"),
        D("3.90"),
        D("33.90"),
    )
    assert set(statement.charges.all()) == set(october)
    assert not Charge.objects.filter(
        pk__in=[c.pk for c in left_out], statement__isnull=False
    ).exists()


def test_issuing_statements_twice_makes_nothing_new():
    account = small_business()
    paid(account, eastern(2026, 10, 5, 9, 0))
    now = eastern(2026, 11, 1, 7, 0)

    first = services.issue_statements(now=now)
    second = services.issue_statements(now=now)

    assert len(first) == 1 and second == []
    assert Statement.objects.count() == 1
    assert Delivery.objects.filter(kind="billing.statement_ready").count() == 1


def test_each_account_gets_its_own_statement_and_its_primary_contacts_are_told():
    first, second = small_business(), small_business()
    paid(first, eastern(2026, 10, 5, 9, 0))
    paid(second, eastern(2026, 10, 6, 9, 0), amount=D("30.00"), hst=D("3.90"), total=D("33.90"))
    quiet = small_business()  # no charge in October: no statement

    services.issue_statements(now=eastern(2026, 11, 2, 7, 0))

    assert {s.account: s.total for s in Statement.objects.all()} == {
        first: D("11.30"),
        second: D("33.90"),
    }
    # A small business's billing e-mails go to its primary contacts, not its billing contacts.
    assert emails("billing.statement_ready") == sorted([f"p{first.pk}@x.ca", f"p{second.pk}@x.ca"])
    told = Delivery.objects.get(kind="billing.statement_ready", address=f"p{second.pk}@x.ca")
    statement = Statement.objects.get(account=second)
    assert (told.facts["statement"], told.facts["month"]) == (statement.pk, "2026-10-01")
    assert D(told.facts["total"]) == D("33.90")
    assert not Delivery.objects.filter(account_id=quiet.pk).exists()


# --- upgrade reviews ----------------------------------------------------------------------------


@pytest.fixture
def thresholds(settings: Any) -> None:
    settings.BILLING_UPGRADE_SHIPMENTS = 10
    settings.BILLING_UPGRADE_REVENUE = "500.00"


TODAY = datetime.date(2026, 12, 1)


def shipped(account: BusinessAccount, quantity: int, amount: str, **fields: Any) -> Charge:
    fields.setdefault("charged_at", eastern(2026, 6, 1, 12, 0))
    return paid(account, fields.pop("charged_at"), quantity=quantity, amount=D(amount), **fields)


def test_below_both_thresholds_no_review_is_opened(thresholds):
    account = small_business()
    shipped(account, 5, "300.00")
    shipped(account, 4, "199.99", status=Charge.Status.SUPPLIER)
    # Outside the trailing twelve months, or not paid at order: not counted.
    shipped(account, 100, "9000.00", charged_at=eastern(2025, 11, 30, 23, 30))
    shipped(account, 100, "9000.00", status=Charge.Status.REFUNDED)

    assert services.find_upgrade_candidates(today=TODAY) == []

    assert not Review.objects.exists()
    assert selectors.trailing_year(account, TODAY) == (9, D("499.99"))


@pytest.mark.parametrize(
    ("quantity", "amount"), [(10, "10.00"), (1, "500.00"), (25, "2500.00")], ids=str
)
def test_reaching_either_threshold_opens_one_review_and_tells_the_primary_contacts(
    thresholds, quantity, amount
):
    account = small_business()
    # The first day of the trailing twelve months counts, in Eastern Time.
    shipped(account, quantity, amount, charged_at=eastern(2025, 12, 1, 0, 30))

    with time_machine.travel(eastern(2026, 12, 1, 3, 0), tick=False):
        assert tasks.find_upgrade_candidates() == 1

    review = Review.objects.get()
    assert (review.account, review.status, review.opened_on) == (account, Review.Status.OPEN, TODAY)
    assert (review.shipments, review.revenue) == (quantity, D(amount))
    assert emails("billing.upgrade_review") == [f"p{account.pk}@x.ca"]


def test_a_second_run_opens_no_second_review(thresholds):
    account = small_business()
    shipped(account, 50, "900.00")

    first = services.find_upgrade_candidates(today=TODAY)
    second = services.find_upgrade_candidates(today=TODAY + datetime.timedelta(days=31))

    assert len(first) == 1 and second == []
    assert Review.objects.filter(account=account).count() == 1
    assert Delivery.objects.filter(kind="billing.upgrade_review").count() == 1


def test_commercial_accounts_are_never_upgrade_candidates(thresholds):
    account = with_contacts(BusinessAccountFactory.create(kind=COMMERCIAL))
    shipped(account, 5000, "90000.00")

    assert services.find_upgrade_candidates(today=TODAY) == []


def test_credit_readiness_shows_the_progress_toward_each_threshold(settings):
    settings.BILLING_UPGRADE_SHIPMENTS = 1000
    settings.BILLING_UPGRADE_REVENUE = "25000.00"
    account = small_business()
    shipped(account, 250, "12500.00")

    halfway = selectors.credit_readiness(account, TODAY)
    assert (halfway.shipments, halfway.revenue) == (250, D("12500.00"))
    assert (halfway.shipments_percent, halfway.revenue_percent, halfway.reached) == (25, 50, False)

    shipped(account, 999, "1.00")
    beyond = selectors.credit_readiness(account, TODAY)
    assert (beyond.shipments_percent, beyond.revenue_percent, beyond.reached) == (100, 50, True)


def test_credit_readiness_of_a_new_account_is_zero():
    readiness = selectors.credit_readiness(small_business(), TODAY)

    assert (readiness.shipments_percent, readiness.revenue_percent) == (0, 0)
    assert not readiness.reached


# --- converting accounts ------------------------------------------------------------------------


def test_a_small_business_converted_to_commercial_keeps_paying_when_ordering(staff):
    account = small_business()
    review = Review.objects.create(account=account, opened_on=TODAY, shipments=1, revenue=1)

    services.convert_account(staff=staff, account_id=account.pk, to_kind=COMMERCIAL)

    account.refresh_from_db()
    review.refresh_from_db()
    assert account.kind == COMMERCIAL
    assert BillingProfile.objects.get(account=account).terms_days is None
    assert review.status == Review.Status.CONVERTED
    event = AuditEvent.objects.get(event=AuditEvent.Event.ACCOUNT_CONVERTED)
    assert (event.actor, event.details) == (
        staff,
        {"previous": SMALL, "kind": COMMERCIAL, "terms_days": None},
    )
    # Now commercial: its primary and billing contacts are told, once each.
    assert emails("billing.account_converted") == sorted(
        [f"p{account.pk}@x.ca", f"ap{account.pk}@x.ca"]
    )


def test_terms_granted_on_conversion_bill_the_account_from_then_on(staff, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # billed to account: no gateway call
    account = small_business()
    ContractFactory.create(account=account)

    services.convert_account(staff=staff, account_id=account.pk, to_kind=COMMERCIAL, terms_days=15)

    assert BillingProfile.objects.get(account=account).terms_days == 15
    account.refresh_from_db()
    made = services.charge_for(
        account=account, description="Return label", amount=D("10"), source="label:1"
    )
    assert made.status == Charge.Status.AWAITING_INVOICE


def test_terms_need_an_active_agreement(staff):
    account = small_business()
    ContractFactory.create(account=account, status=Contract.Status.EXPIRED)
    review = Review.objects.create(account=account, opened_on=TODAY, shipments=1, revenue=1)

    with pytest.raises(TermsNeedAgreement):
        services.convert_account(
            staff=staff, account_id=account.pk, to_kind=COMMERCIAL, terms_days=30
        )

    account.refresh_from_db()
    review.refresh_from_db()
    assert account.kind == SMALL
    assert review.status == Review.Status.OPEN
    assert not AuditEvent.objects.filter(event=AuditEvent.Event.ACCOUNT_CONVERTED).exists()
    assert not Delivery.objects.filter(kind="billing.account_converted").exists()


def test_converting_to_the_same_kind_is_refused(staff):
    account = small_business()

    with pytest.raises(AlreadyOfThatKind):
        services.convert_account(staff=staff, account_id=account.pk, to_kind=SMALL)


def test_a_commercial_account_converted_to_small_business_ends_its_agreement(
    staff, announced, stripe_api
):
    account = with_contacts(BusinessAccountFactory.create(kind=COMMERCIAL))
    contract = ContractFactory.create(account=account)
    BillingProfileFactory.create(account=account, terms_days=30)
    open_invoice = InvoiceFactory.create(account=account)

    with time_machine.travel(eastern(2026, 12, 3, 10, 0)):
        services.convert_account(staff=staff, account_id=account.pk, to_kind=SMALL)

    account.refresh_from_db()
    contract.refresh_from_db()
    assert account.kind == SMALL
    assert BillingProfile.objects.get(account=account).terms_days is None
    assert (contract.status, contract.ends_on) == (
        Contract.Status.EXPIRED,
        datetime.date(2026, 12, 3),
    )
    assert announced == [
        {
            "signal": payment_method_unusable,
            "account": account,
            "method": None,
            "reason": Reason.AGREEMENT_ENDED,
        }
    ]
    event = AuditEvent.objects.get(event=AuditEvent.Event.ACCOUNT_CONVERTED)
    assert event.details == {"previous": COMMERCIAL, "kind": SMALL, "terms_days": None}
    # A small business now: its primary contacts are told (one e-mail per address).
    assert emails("billing.account_converted") == [f"p{account.pk}@x.ca"]
    assert Delivery.objects.get(kind="billing.account_converted").facts["open_invoices"] == 1
    # Its open invoice stays payable.
    manager = AccountLinkFactory.create(account=account, right=Right.MANAGE).user
    validator = AccountLinkFactory.create(account=account, right=Right.VALIDATE).user
    setup = services.start_card_setup(actor=manager, account=account)
    browser_setup(stripe_api, setup.setup_id, GOOD_CARD)
    card = services.save_card(actor=manager, account=account, setup_id=setup.setup_id, ip=IP)
    payment = services.pay_invoice(
        actor=validator,
        account=account,
        invoice_id=open_invoice.pk,
        method_id=card.pk,
        key="after-conversion",
        ip=IP,
    )
    assert payment.status == Payment.Status.SUCCEEDED
    open_invoice.refresh_from_db()
    assert open_invoice.status == Invoice.Status.PAID


# --- the nightly card-expiry job ----------------------------------------------------------------


@pytest.fixture
def expiring(settings: Any) -> PaymentMethod:
    """The default card of a commercial account, valid through December 2026."""
    settings.BILLING_EXPIRY_WARNING_DAYS = 30
    account = with_contacts(BusinessAccountFactory.create(kind=COMMERCIAL))
    return CardFactory.create(account=account, exp_month=12, exp_year=2026, is_default=True)


def run_expiry_job(day: datetime.date) -> dict[str, int]:
    with time_machine.travel(eastern(day.year, day.month, day.day, 2, 0), tick=False):
        assert timezone.localdate() == day
        return tasks.expire_cards()


def test_the_billing_contacts_are_warned_thirty_days_before_a_card_expires_once(
    expiring, monkeypatch
):
    monkeypatch.setattr(hooks, "_dependents", [])
    hooks.register_dependents(lambda method: [f"Return policy “Boutique” paid by {method.last4}"])

    assert run_expiry_job(datetime.date(2026, 11, 30)) == {"warned": 0, "expired": 0}
    assert run_expiry_job(datetime.date(2026, 12, 1)) == {"warned": 1, "expired": 0}
    assert run_expiry_job(datetime.date(2026, 12, 15)) == {"warned": 0, "expired": 0}

    expiring.refresh_from_db()
    assert expiring.expiry_warned_on == datetime.date(2026, 12, 1)
    assert expiring.status == PaymentMethod.Status.ACTIVE
    assert emails("billing.card_expiring") == [f"ap{expiring.account_id}@x.ca"]
    told = Delivery.objects.get(kind="billing.card_expiring")
    assert told.facts["expires_on"] == "2026-12-31"
    assert told.facts["method_id"] == expiring.pk
    assert told.facts["dependents"] == ["Return policy “Boutique” paid by 4242"]


def test_a_card_past_its_month_is_expired_and_the_default_moves(expiring, announced):
    older = CardFactory.create(account=expiring.account, exp_year=2030)
    newer = CardFactory.create(account=expiring.account, exp_year=2029)
    others_card = CardFactory.create(exp_month=12, exp_year=2031, is_default=True)

    assert run_expiry_job(datetime.date(2026, 12, 31))["expired"] == 0  # valid its last day
    assert run_expiry_job(datetime.date(2027, 1, 1)) == {"warned": 0, "expired": 1}
    assert run_expiry_job(datetime.date(2027, 1, 2)) == {"warned": 0, "expired": 0}

    expiring.refresh_from_db()
    assert (expiring.status, expiring.is_default) == (PaymentMethod.Status.EXPIRED, False)
    assert expiring.ended_at is not None
    newer.refresh_from_db()
    older.refresh_from_db()
    others_card.refresh_from_db()
    assert newer.is_default and not older.is_default
    assert others_card.is_default and others_card.status == PaymentMethod.Status.ACTIVE
    assert emails("billing.card_expired") == [f"ap{expiring.account_id}@x.ca"]
    assert announced == [
        {
            "signal": payment_method_unusable,
            "account": expiring.account,
            "method": expiring,
            "reason": Reason.CARD_EXPIRED,
        }
    ]


def test_a_card_expired_without_a_warning_is_still_expired_and_told(expiring, announced):
    assert run_expiry_job(datetime.date(2027, 2, 10)) == {"warned": 0, "expired": 1}

    expiring.refresh_from_db()
    assert expiring.status == PaymentMethod.Status.EXPIRED
    assert not PaymentMethod.objects.filter(account=expiring.account, is_default=True).exists()
    assert emails("billing.card_expired") == [f"ap{expiring.account_id}@x.ca"]
    assert [a["reason"] for a in announced] == [Reason.CARD_EXPIRED]


def test_cards_no_longer_active_are_left_alone(expiring):
    removed = CardFactory.create(
        account=expiring.account, exp_year=2025, status=PaymentMethod.Status.REMOVED
    )

    run_expiry_job(datetime.date(2027, 1, 1))

    removed.refresh_from_db()
    assert removed.status == PaymentMethod.Status.REMOVED
    assert Delivery.objects.filter(kind="billing.card_expired").count() == 1  # only `expiring`
