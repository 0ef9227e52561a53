"""Invoices of commercial accounts: the monthly close in Eastern Time, overdue marking, aging, and
paying online (directly, through the validation queue, and twice at once) or offline."""

import datetime
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection

from accounts.exceptions import StaleRequest
from accounts.models import AuditEvent, BusinessAccount, Contact, ValidationRequest
from accounts.rights import Right
from accounts.services import requests
from billing import actions, selectors, services, tasks
from billing.exceptions import (
    CardNotAccepted,
    InvoiceNotPayable,
    NotAllowed,
    OfflinePaymentAmount,
    PaymentMethodNotFound,
    PaymentServiceUnavailable,
)
from billing.gateway import GatewayUnavailable, Refusal
from billing.models import BillingProfile, Charge, Invoice, Payment, PaymentMethod
from billing.periods import EASTERN
from billing.services import invoices as invoices_module
from outages.features import Feature
from outages.gate import FeatureClosed
from portal.models import Delivery
from tests.accounts.factories import BusinessAccountFactory, ContactFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.billing import fakes
from tests.billing.conftest import CHARGE_DECLINED_CARD, GOOD_CARD, browser_setup, stripe_client
from tests.billing.factories import (
    BillingProfileFactory,
    CardFactory,
    ChargeFactory,
    InvoiceFactory,
)
from tests.conftest import postgres_in_use, require_service
from tests.factories import UserFactory
from tests.outages.factories import closing

D = Decimal
IP = "198.51.100.9"
Event = AuditEvent.Event
Status = Invoice.Status


def eastern(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=EASTERN)


def on_terms(terms_days: int = 15, **fields: Any) -> BusinessAccount:
    """A commercial account billed to account, whose billing contacts are told."""
    account = BusinessAccountFactory.create(**fields)
    ContractFactory.create(account=account)
    BillingProfileFactory.create(account=account, terms_days=terms_days)
    ContactFactory.create(account=account, role=Contact.Role.PRIMARY, email=f"p{account.pk}@x.ca")
    ContactFactory.create(account=account, role=Contact.Role.BILLING, email=f"ap{account.pk}@x.ca")
    return account


def waiting(account: BusinessAccount, at: datetime.datetime, **fields: Any) -> Charge:
    return ChargeFactory.create(
        account=account, status=Charge.Status.AWAITING_INVOICE, charged_at=at, **fields
    )


def emails(kind: str) -> list[str]:
    return sorted(Delivery.objects.filter(kind=kind).values_list("address", flat=True))


def add_card(account: BusinessAccount, base: str, number: str = GOOD_CARD) -> PaymentMethod:
    actor = AccountLinkFactory.create(account=account, right=Right.MANAGE).user
    setup = services.start_card_setup(actor=actor, account=account)
    browser_setup(base, setup.setup_id, number)
    return services.save_card(actor=actor, account=account, setup_id=setup.setup_id, ip=IP)


def gateway_charges(base: str, account: BusinessAccount) -> list[int]:
    customer = BillingProfile.objects.get(account=account).gateway_customer_id
    listed = stripe_client(base).v1.charges.list(params={"customer": customer, "limit": 100})
    return [charge.amount for charge in listed.data if charge.status == "succeeded"]


# --- the monthly close --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_monthly_close_invoices_the_previous_eastern_month():
    account = on_terms(terms_days=15)
    late_october = waiting(account, eastern(2026, 10, 31, 23, 30))
    early_november = waiting(account, eastern(2026, 11, 1, 0, 30))

    with time_machine.travel(eastern(2026, 11, 1, 6, 0), tick=False):
        assert tasks.close_month() == 1

    invoice = Invoice.objects.get()
    assert (invoice.period_start, invoice.period_end) == (
        datetime.date(2026, 10, 1),
        datetime.date(2026, 10, 31),
    )
    assert (invoice.number, invoice.status) == ("2026-000001", Status.OPEN)
    assert (invoice.issued_on, invoice.terms_days, invoice.due_on) == (
        datetime.date(2026, 11, 1),
        15,
        datetime.date(2026, 11, 16),
    )
    late_october.refresh_from_db()
    early_november.refresh_from_db()
    assert (late_october.status, late_october.invoice) == (Charge.Status.INVOICED, invoice)
    assert (early_november.status, early_november.invoice) == (
        Charge.Status.AWAITING_INVOICE,
        None,
    )

    with time_machine.travel(eastern(2026, 12, 1, 6, 0), tick=False):
        assert tasks.close_month() == 1

    november = Invoice.objects.get(period_start=datetime.date(2026, 11, 1))
    assert november.number == "2026-000002"
    assert list(november.charges.all()) == [early_november]


@pytest.mark.django_db
def test_the_due_date_follows_each_accounts_terms():
    fifteen, thirty = on_terms(terms_days=15), on_terms(terms_days=30)
    for account in (fifteen, thirty):
        waiting(account, eastern(2026, 10, 15, 12, 0))

    services.close_month(now=eastern(2026, 11, 2, 9, 0))

    assert Invoice.objects.get(account=fifteen).due_on == datetime.date(2026, 11, 17)
    assert Invoice.objects.get(account=thirty).due_on == datetime.date(2026, 12, 2)


@pytest.mark.django_db
def test_invoice_numbers_have_no_gap_and_start_again_each_year():
    accounts = [on_terms() for _ in range(3)]
    for account in accounts:
        waiting(account, eastern(2026, 11, 20, 12, 0))
        waiting(account, eastern(2026, 12, 20, 12, 0))

    december = services.close_month(now=eastern(2026, 12, 1, 6, 0))
    january = services.close_month(now=eastern(2027, 1, 1, 6, 0))

    assert [(i.account, i.number) for i in december] == [
        (accounts[0], "2026-000001"),
        (accounts[1], "2026-000002"),
        (accounts[2], "2026-000003"),
    ]
    assert [i.number for i in january] == ["2027-000001", "2027-000002", "2027-000003"]


@pytest.mark.django_db
def test_an_invoice_totals_its_charges_tax_by_tax(no_gateway):
    account = on_terms(province="QC")
    for amount in ("19.99", "100.00", "0.50"):
        services.charge_for(
            account=account,
            description="Return label",
            amount=D(amount),
            source=f"label:{amount}",
            at=eastern(2026, 10, 10, 12, 0),
        )

    [invoice] = services.close_month(now=eastern(2026, 11, 1, 6, 0))

    charges = Charge.objects.filter(invoice=invoice)
    assert charges.count() == 3
    for column in ("amount", "gst", "hst", "pst", "qst", "total"):
        assert getattr(invoice, column) == sum(getattr(c, column) for c in charges), column
    assert (invoice.amount, invoice.gst, invoice.qst, invoice.hst, invoice.total) == (
        D("120.49"),
        D("6.03"),
        D("12.02"),
        D("0.00"),
        D("138.54"),
    )


@pytest.mark.django_db
def test_closing_the_same_month_twice_makes_no_second_invoice_nor_e_mail():
    account = on_terms()
    waiting(account, eastern(2026, 10, 10, 12, 0))
    now = eastern(2026, 11, 1, 6, 0)

    first = services.close_month(now=now)
    waiting(account, eastern(2026, 10, 20, 12, 0))  # arrived late: waits for next month's
    second = services.close_month(now=now)

    assert len(first) == 1 and second == []
    assert Invoice.objects.count() == 1
    assert Delivery.objects.filter(kind="billing.invoice_issued").count() == 1


@pytest.mark.django_db
def test_the_billing_contacts_are_told_of_a_new_invoice():
    account = on_terms()
    ContactFactory.create(
        account=account, role=Contact.Role.BILLING, email="finance@x.ca", language="fr"
    )
    waiting(account, eastern(2026, 10, 10, 12, 0))

    [invoice] = services.close_month(now=eastern(2026, 11, 1, 6, 0))

    assert emails("billing.invoice_issued") == sorted([f"ap{account.pk}@x.ca", "finance@x.ca"])
    french = Delivery.objects.get(kind="billing.invoice_issued", address="finance@x.ca")
    assert french.language == "fr"
    assert french.account_id == account.pk
    assert {k: french.facts[k] for k in ("invoice", "number", "due_on")} == {
        "invoice": invoice.pk,
        "number": invoice.number,
        "due_on": "2026-11-16",
    }
    assert D(french.facts["total"]) == D("11.30")


@pytest.mark.django_db
def test_charges_left_waiting_after_terms_ended_are_invoiced_on_thirty_days():
    account = on_terms()
    BillingProfile.objects.filter(account=account).update(terms_days=None)
    waiting(account, eastern(2026, 10, 10, 12, 0))

    [invoice] = services.close_month(now=eastern(2026, 11, 1, 6, 0))

    assert (invoice.terms_days, invoice.due_on) == (30, datetime.date(2026, 12, 1))


# --- overdue and aging --------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_invoice_past_its_due_date_is_marked_overdue_once_and_told_once():
    account = on_terms()
    invoice = InvoiceFactory.create(account=account, due_on=datetime.date(2026, 11, 16))
    InvoiceFactory.create(
        account=account, due_on=datetime.date(2026, 11, 1), status=Status.PAID, amount_paid=113
    )

    assert services.mark_overdue(today=datetime.date(2026, 11, 16)) == 0  # due today: not late
    with time_machine.travel(eastern(2026, 11, 17, 2, 0), tick=False):
        assert tasks.mark_overdue() == 1
    assert services.mark_overdue(today=datetime.date(2026, 11, 20)) == 0

    invoice.refresh_from_db()
    assert (invoice.status, invoice.overdue_notified_on) == (
        Status.OVERDUE,
        datetime.date(2026, 11, 17),
    )
    assert emails("billing.invoice_overdue") == [f"ap{account.pk}@x.ca"]
    told = Delivery.objects.get(kind="billing.invoice_overdue")
    assert (told.facts["balance"], told.facts["due_on"]) == ("113.00", "2026-11-16")


@pytest.mark.django_db
def test_the_open_balance_is_aged_by_days_past_due():
    account = on_terms()
    today = datetime.date(2026, 12, 31)
    due_and_total = [
        (0, "10.00"),  # due today: current
        (-5, "1.00"),  # due in five days: current
        (1, "20.00"),
        (30, "30.00"),
        (31, "40.00"),
        (60, "50.00"),
        (61, "60.00"),
        (90, "70.00"),
        (91, "80.00"),
        (400, "90.00"),
    ]
    for days, total in due_and_total:
        InvoiceFactory.create(
            account=account,
            due_on=today - datetime.timedelta(days=days),
            total=D(total),
            status=Status.OVERDUE if days > 0 else Status.OPEN,
        )
    InvoiceFactory.create(  # partly paid: only its balance is owed
        account=account, due_on=today, total=D("100.00"), amount_paid=D("25.00")
    )
    InvoiceFactory.create(account=account, due_on=today, status=Status.PAID, amount_paid=113)
    InvoiceFactory.create(account=account, due_on=today, status=Status.VOID)
    InvoiceFactory.create(due_on=today)  # another account's

    assert selectors.aging(account, today) == {
        "current": D("86.00"),
        "days_1_30": D("50.00"),
        "days_31_60": D("90.00"),
        "days_61_90": D("130.00"),
        "days_over_90": D("170.00"),
        "total": D("526.00"),
    }
    assert selectors.days_past_due(Invoice.objects.get(total=D("30.00")), today) == 30


@pytest.mark.django_db
def test_an_account_without_open_invoices_owes_nothing():
    account = on_terms()

    assert set(selectors.aging(account, datetime.date(2026, 12, 31)).values()) == {D("0")}


# --- paying online ------------------------------------------------------------------------------


@pytest.fixture
def no_gateway(settings: Any) -> None:
    settings.BILLING_GATEWAY = "billing.gateway.StripeGateway"
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nobody answers: no call may be made


@pytest.fixture
def account(db: None) -> BusinessAccount:
    return on_terms()


@pytest.fixture
def validator(account: BusinessAccount) -> Any:
    return AccountLinkFactory.create(account=account, right=Right.VALIDATE).user


@pytest.fixture
def manager(account: BusinessAccount) -> Any:
    return AccountLinkFactory.create(account=account, right=Right.MANAGE).user


@pytest.fixture
def invoice(account: BusinessAccount) -> Invoice:
    return InvoiceFactory.create(account=account)  # 113.00


def pay(actor: Any, invoice: Invoice, card: PaymentMethod, key: str = "page-1") -> Payment:
    return services.pay_invoice(
        actor=actor,
        account=invoice.account,
        invoice_id=invoice.pk,
        method_id=card.pk,
        key=key,
        ip=IP,
    )


def test_a_validator_pays_an_invoice_with_a_saved_card(validator, invoice, stripe_api):
    card = add_card(invoice.account, stripe_api)

    payment = pay(validator, invoice, card)

    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert (payment.status, payment.method, payment.payment_method) == (
        Payment.Status.SUCCEEDED,
        Payment.Method.CARD,
        card,
    )
    assert (payment.amount, payment.paid_by, payment.idempotency_key) == (
        D("113.00"),
        validator,
        "page-1:1",
    )
    assert payment.gateway_payment_id.startswith("pi_")
    assert (invoice.status, invoice.amount_paid, invoice.balance) == (Status.PAID, 113, 0)
    assert invoice.paid_at is not None
    assert gateway_charges(stripe_api, invoice.account) == [11_300]
    assert emails("billing.invoice_paid") == [f"ap{invoice.account.pk}@x.ca"]
    event = AuditEvent.objects.get(event=Event.INVOICE_PAID)
    assert (event.actor, event.ip, event.details["invoice"], event.details["amount"]) == (
        validator,
        IP,
        invoice.number,
        "$113.00",
    )


def test_an_overdue_invoice_can_still_be_paid(validator, invoice, stripe_api):
    Invoice.objects.filter(pk=invoice.pk).update(status=Status.OVERDUE)
    card = add_card(invoice.account, stripe_api)

    assert pay(validator, invoice, card).status == Payment.Status.SUCCEEDED


def test_manage_alone_cannot_pay(manager, invoice, no_gateway):
    card = CardFactory.create(account=invoice.account, is_default=True)

    with pytest.raises(NotAllowed):
        pay(manager, invoice, card)

    assert not Payment.objects.exists()
    invoice.refresh_from_db()
    assert invoice.status == Status.OPEN


def test_a_card_declined_at_charge_keeps_a_failed_attempt_and_the_invoice_open(
    validator, invoice, stripe_api
):
    declined = add_card(invoice.account, stripe_api, CHARGE_DECLINED_CARD)

    with pytest.raises(CardNotAccepted) as refused:
        pay(validator, invoice, declined)

    assert refused.value.refusal == Refusal.DECLINED
    failed = Payment.objects.get()
    assert (failed.status, failed.idempotency_key) == (Payment.Status.FAILED, "page-1:1")
    assert failed.failure.startswith("The card was declined.")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == (Status.OPEN, 0)
    assert AuditEvent.objects.filter(event=Event.INVOICE_PAYMENT_FAILED).count() == 1
    assert not Delivery.objects.filter(kind="billing.invoice_paid").exists()
    # The same page tried again with another card is a new attempt, and pays.
    good = add_card(invoice.account, stripe_api)
    assert pay(validator, invoice, good).idempotency_key == "page-1:2"
    assert gateway_charges(stripe_api, invoice.account) == [11_300]


@pytest.mark.parametrize("status", [Status.PAID, Status.VOID])
def test_a_paid_or_void_invoice_is_not_payable(validator, account, no_gateway, status):
    card = CardFactory.create(account=account, is_default=True)
    paid = InvoiceFactory.create(
        account=account, status=status, amount_paid=113 if status == Status.PAID else 0
    )

    with pytest.raises(InvoiceNotPayable):
        pay(validator, paid, card)

    assert not Payment.objects.exists()


def test_an_invoice_of_another_business_is_never_found(validator, account, no_gateway):
    card = CardFactory.create(account=account, is_default=True)
    theirs = InvoiceFactory.create()

    with pytest.raises(InvoiceNotPayable):
        services.pay_invoice(
            actor=validator,
            account=account,
            invoice_id=theirs.pk,
            method_id=card.pk,
            key="page-9",
            ip=IP,
        )

    assert not Payment.objects.exists()
    theirs.refresh_from_db()
    assert theirs.status == Status.OPEN


def test_a_card_of_another_account_or_removed_cannot_pay(validator, invoice, no_gateway):
    theirs = CardFactory.create()
    removed = CardFactory.create(account=invoice.account, status=PaymentMethod.Status.REMOVED)

    for card in (theirs, removed):
        with pytest.raises(PaymentMethodNotFound):
            pay(validator, invoice, card)

    assert not Payment.objects.exists()


def test_the_same_page_sent_twice_pays_once(validator, invoice, stripe_api):
    card = add_card(invoice.account, stripe_api)

    first = pay(validator, invoice, card, key="page-7")
    again = pay(validator, invoice, card, key="page-7")

    assert again.pk == first.pk
    assert Payment.objects.count() == 1
    assert gateway_charges(stripe_api, invoice.account) == [11_300]
    assert Delivery.objects.filter(kind="billing.invoice_paid").count() == 1


def test_online_payment_closed_refuses_to_pay(validator, invoice, no_gateway):
    card = CardFactory.create(account=invoice.account, is_default=True)
    closing(Feature.ONLINE_PAYMENT)

    with pytest.raises(FeatureClosed):
        pay(validator, invoice, card)

    assert not Payment.objects.exists()


def test_a_gateway_down_mid_payment_records_nothing(validator, invoice, settings):
    fake = fakes.install(settings)
    card = CardFactory.create(account=invoice.account, is_default=True)
    fake.next_outcome = GatewayUnavailable

    with pytest.raises(PaymentServiceUnavailable):
        pay(validator, invoice, card)

    assert not Payment.objects.exists()
    invoice.refresh_from_db()
    assert invoice.status == Status.OPEN
    assert pay(validator, invoice, card).status == Payment.Status.SUCCEEDED  # a retry pays


def test_insufficient_funds_is_told_as_such(validator, invoice, settings):
    fake = fakes.install(settings)
    card = CardFactory.create(account=invoice.account, is_default=True)
    fake.next_outcome = Refusal.INSUFFICIENT_FUNDS

    with pytest.raises(CardNotAccepted) as refused:
        pay(validator, invoice, card)

    assert "insufficient funds" in str(refused.value)
    assert Payment.objects.get().status == Payment.Status.FAILED


# --- paying offline -----------------------------------------------------------------------------


def test_staff_record_a_cheque_for_the_whole_balance(invoice, no_gateway):
    staff = UserFactory.create(is_staff=True)

    payment = services.record_offline_payment(
        staff=staff,
        invoice_id=invoice.pk,
        method=Payment.Method.CHEQUE,
        amount=D("113.00"),
        reference="Cheque 1042",
    )

    invoice.refresh_from_db()
    assert (payment.status, payment.method, payment.reference, payment.paid_by) == (
        Payment.Status.SUCCEEDED,
        Payment.Method.CHEQUE,
        "Cheque 1042",
        staff,
    )
    assert (invoice.status, invoice.amount_paid) == (Status.PAID, D("113.00"))
    assert AuditEvent.objects.filter(event=Event.OFFLINE_PAYMENT_RECORDED).count() == 1
    assert emails("billing.invoice_paid") == [f"ap{invoice.account.pk}@x.ca"]
    with pytest.raises(InvoiceNotPayable):
        services.record_offline_payment(
            staff=staff,
            invoice_id=invoice.pk,
            method=Payment.Method.EFT,
            amount=D("113.00"),
            reference="EFT 1",
        )


@pytest.mark.parametrize("amount", ["100.00", "113.01", "0.01"])
def test_an_offline_payment_must_pay_the_whole_balance(invoice, no_gateway, amount):
    with pytest.raises(OfflinePaymentAmount):
        services.record_offline_payment(
            staff=UserFactory.create(is_staff=True),
            invoice_id=invoice.pk,
            method=Payment.Method.EFT,
            amount=D(amount),
            reference="EFT 77",
        )

    assert not Payment.objects.exists()
    invoice.refresh_from_db()
    assert invoice.status == Status.OPEN


# --- through the validation queue ---------------------------------------------------------------


def prepare(actor: Any, account: BusinessAccount, kind: str, payload: Any) -> ValidationRequest:
    """What a MANAGE-only user's submission does: a request queued for the validators."""
    outcome = requests.submit(actor=actor, account=account, kind=kind, payload=payload, ip=IP)
    assert outcome.queued and outcome.request is not None
    return outcome.request


def test_a_manager_prepares_a_payment_that_a_validator_approves(
    manager, validator, invoice, stripe_api
):
    card = add_card(invoice.account, stripe_api)
    payload = actions.pay_invoice_payload(invoice=invoice, method=card, key="queue-1")

    prepared = prepare(manager, invoice.account, actions.PAY_INVOICE, payload)

    assert not Payment.objects.exists()
    requests.approve_request(
        actor=validator, account=invoice.account, request_id=prepared.pk, ip=IP
    )

    request = ValidationRequest.objects.get(pk=prepared.pk)
    payment = Payment.objects.get()
    invoice.refresh_from_db()
    assert request.state == ValidationRequest.State.APPROVED
    assert request.result == {"payment": payment.pk}
    assert (payment.status, payment.paid_by) == (Payment.Status.SUCCEEDED, validator)
    assert invoice.status == Status.PAID
    assert gateway_charges(stripe_api, invoice.account) == [11_300]


def test_a_validator_submitting_pays_at_once(validator, invoice, stripe_api):
    card = add_card(invoice.account, stripe_api)
    payload = actions.pay_invoice_payload(invoice=invoice, method=card, key="queue-2")

    outcome = requests.submit(
        actor=validator, account=invoice.account, kind=actions.PAY_INVOICE, payload=payload, ip=IP
    )

    assert not outcome.queued and outcome.result is not None
    assert Payment.objects.get(pk=outcome.result["payment"]).status == Payment.Status.SUCCEEDED


def test_a_payment_request_for_an_invoice_paid_meanwhile_is_stale(
    manager, validator, invoice, stripe_api
):
    card = add_card(invoice.account, stripe_api)
    payload = actions.pay_invoice_payload(invoice=invoice, method=card, key="queue-3")
    request = prepare(manager, invoice.account, actions.PAY_INVOICE, payload)
    pay(validator, invoice, card, key="direct-1")  # paid directly meanwhile

    with pytest.raises(StaleRequest):
        requests.approve_request(
            actor=validator, account=invoice.account, request_id=request.pk, ip=IP
        )

    request.refresh_from_db()
    assert request.state == ValidationRequest.State.STALE
    assert Payment.objects.filter(status=Payment.Status.SUCCEEDED).count() == 1
    assert gateway_charges(stripe_api, invoice.account) == [11_300]


def test_a_payment_request_waits_while_online_payment_is_closed(manager, validator, invoice):
    card = CardFactory.create(account=invoice.account, is_default=True)
    payload = actions.pay_invoice_payload(invoice=invoice, method=card, key="queue-4")
    closing(Feature.ONLINE_PAYMENT)

    with pytest.raises(FeatureClosed):
        requests.submit(
            actor=manager,
            account=invoice.account,
            kind=actions.PAY_INVOICE,
            payload=payload,
            ip=IP,
        )

    assert not ValidationRequest.objects.exists()


def test_a_manager_asks_to_remove_a_card_and_a_validator_approves(
    manager, validator, account, stripe_api
):
    card = add_card(account, stripe_api)
    payload = actions.remove_method_payload(method=card, dependents=[])

    request = prepare(manager, account, actions.REMOVE_METHOD, payload)
    card.refresh_from_db()
    assert card.status == PaymentMethod.Status.ACTIVE  # nothing done yet

    requests.approve_request(actor=validator, account=account, request_id=request.pk, ip=IP)

    card.refresh_from_db()
    assert card.status == PaymentMethod.Status.REMOVED
    assert stripe_client(stripe_api).v1.payment_methods.retrieve(card.gateway_id).customer is None
    assert AuditEvent.objects.get(event=Event.PAYMENT_METHOD_REMOVED).actor == validator


def test_a_removal_request_for_a_card_changed_meanwhile_is_stale(
    manager, validator, account, stripe_api
):
    card = add_card(account, stripe_api)
    other = add_card(account, stripe_api)
    payload = actions.remove_method_payload(method=card, dependents=[])
    request = prepare(manager, account, actions.REMOVE_METHOD, payload)
    services.set_default_method(actor=validator, account=account, method_id=other.pk, ip=IP)

    with pytest.raises(StaleRequest):
        requests.approve_request(actor=validator, account=account, request_id=request.pk, ip=IP)

    card.refresh_from_db()
    assert card.status == PaymentMethod.Status.ACTIVE


# --- two validators at once (PostgreSQL) --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_validators_paying_the_same_invoice_at_once_pay_once(stripe_api, monkeypatch):
    require_service("PostgreSQL (DATABASE_URL)", postgres_in_use())
    account = on_terms()
    card = add_card(account, stripe_api)
    invoice = InvoiceFactory.create(account=account)
    validators = [
        AccountLinkFactory.create(account=account, right=Right.VALIDATE).user for _ in range(2)
    ]
    # Hold the first payment open a moment with its invoice locked, so the second one waits.
    real_customer = invoices_module.gateway_customer

    def slow_customer(account: BusinessAccount) -> str:
        time.sleep(0.3)
        return real_customer(account)

    monkeypatch.setattr(invoices_module, "gateway_customer", slow_customer)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def pay_as(actor: Any, key: str) -> None:
        try:
            start.wait()
            pay(actor, invoice, card, key=key)
            outcomes.append("paid")
        except InvoiceNotPayable:
            outcomes.append("not payable")
        except Exception as error:  # any other failure is the test's, reported below
            outcomes.append(repr(error))
        finally:
            connection.close()  # each thread has its own connection

    threads = [
        threading.Thread(target=pay_as, args=(actor, f"page-of-{n}"))
        for n, actor in enumerate(validators)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["not payable", "paid"]
    assert Payment.objects.filter(invoice=invoice, status=Payment.Status.SUCCEEDED).count() == 1
    assert Payment.objects.filter(invoice=invoice).count() == 1
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == (Status.PAID, D("113.00"))
    assert gateway_charges(stripe_api, account) == [11_300]
