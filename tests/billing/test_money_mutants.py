"""Money, tax, charges and invoices: the cases mutation testing found unasked. Each account's
close holds its own charges only, and only accounts with charges waiting from the month closed
get an invoice; every invoice is told (and an overdue one told) on its own; a payment landing
while the overdue job runs is left alone; offline payments on two invoices are both kept."""

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.models import AuditEvent, BusinessAccount, Contact
from accounts.rights import Right
from billing import services
from billing.exceptions import CardNotAccepted, InvoiceNotPayable, PaymentMethodNotFound
from billing.gateway import Refusal
from billing.models import Charge, Invoice, Payment
from billing.money import format_count, format_money
from billing.periods import EASTERN
from billing.tax import UnknownProvince, taxed
from portal.models import Delivery
from tests.accounts.factories import BusinessAccountFactory, ContactFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.billing import fakes
from tests.billing.conftest import GOOD_CARD, browser_setup
from tests.billing.factories import (
    BillingProfileFactory,
    CardFactory,
    ChargeFactory,
    InvoiceFactory,
    SupplierAccountFactory,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
D = Decimal
Status = Invoice.Status
ISSUED, OVERDUE, PAID = "billing.invoice_issued", "billing.invoice_overdue", "billing.invoice_paid"
NBSP = "\N{NO-BREAK SPACE}"


def eastern(year: int, month: int, day: int, hour: int = 12) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, tzinfo=EASTERN)


def on_terms(**fields: Any) -> BusinessAccount:
    """A commercial account billed to account, with one billing contact told of its invoices."""
    account = BusinessAccountFactory.create(**fields)
    ContractFactory.create(account=account)
    BillingProfileFactory.create(account=account, terms_days=30)
    ContactFactory.create(account=account, role=Contact.Role.BILLING, email=f"ap{account.pk}@x.ca")
    return account


def waiting(account: BusinessAccount, at: datetime.datetime, amount: str = "10.00") -> Charge:
    return ChargeFactory.create(
        account=account,
        status=Charge.Status.AWAITING_INVOICE,
        charged_at=at,
        amount=D(amount),
        hst=D("0.00"),
        total=D(amount),
    )


def told(kind: str) -> list[dict[str, Any]]:
    return [
        {"to": delivery.address, **delivery.facts}
        for delivery in Delivery.objects.filter(kind=kind).order_by("pk")
    ]


# --- the monthly close -----------------------------------------------------------------------


def test_each_accounts_invoice_holds_its_own_waiting_charges_only():
    first, second = on_terms(), on_terms()
    mine = [waiting(first, eastern(2026, 10, 5), "10.00"), waiting(first, eastern(2026, 10, 6))]
    theirs = waiting(second, eastern(2026, 10, 7), "25.00")

    invoices = services.close_month(now=eastern(2026, 11, 1, 6))

    by_account = {invoice.account: invoice for invoice in invoices}
    assert set(by_account) == {first, second}
    assert sorted(c.pk for c in by_account[first].charges.all()) == sorted(c.pk for c in mine)
    assert list(by_account[second].charges.all()) == [theirs]
    assert (by_account[first].total, by_account[second].total) == (D("20.00"), D("25.00"))


def test_only_accounts_with_charges_waiting_from_the_month_closed_get_an_invoice():
    waits = on_terms()
    waiting(waits, eastern(2026, 10, 20))
    paid_by_card = on_terms()
    ChargeFactory.create(
        account=paid_by_card, status=Charge.Status.PAID, charged_at=eastern(2026, 10, 20)
    )
    this_month_only = on_terms()
    this_months = waiting(this_month_only, eastern(2026, 11, 1, 3))

    invoices = services.close_month(now=eastern(2026, 11, 1, 6))

    assert [invoice.account for invoice in invoices] == [waits]
    assert Invoice.objects.filter(account__in=[paid_by_card, this_month_only]).count() == 0
    this_months.refresh_from_db()
    assert (this_months.status, this_months.invoice) == (Charge.Status.AWAITING_INVOICE, None)


def test_each_months_invoice_is_told_on_its_own():
    account = on_terms()
    waiting(account, eastern(2026, 10, 20))
    waiting(account, eastern(2026, 11, 20))

    [october] = services.close_month(now=eastern(2026, 11, 1, 6))
    [november] = services.close_month(now=eastern(2026, 12, 1, 6))

    assert [(e["to"], e["invoice"], e["number"]) for e in told(ISSUED)] == [
        (f"ap{account.pk}@x.ca", october.pk, october.number),
        (f"ap{account.pk}@x.ca", november.pk, november.number),
    ]


# --- overdue ---------------------------------------------------------------------------------


def test_each_overdue_invoice_is_marked_counted_and_told_on_its_own_and_a_coming_one_is_not():
    account = on_terms()
    older = InvoiceFactory.create(account=account, due_on=datetime.date(2026, 11, 1))
    newer = InvoiceFactory.create(account=account, due_on=datetime.date(2026, 11, 10))
    coming = InvoiceFactory.create(account=account, due_on=datetime.date(2026, 11, 30))

    assert services.mark_overdue(today=datetime.date(2026, 11, 15)) == 2

    statuses = dict(Invoice.objects.values_list("pk", "status"))
    assert statuses == {older.pk: Status.OVERDUE, newer.pk: Status.OVERDUE, coming.pk: Status.OPEN}
    assert sorted((e["invoice"], e["number"]) for e in told(OVERDUE)) == sorted(
        [(older.pk, older.number), (newer.pk, newer.number)]
    )


def test_an_invoice_paid_while_the_overdue_job_runs_is_neither_marked_nor_told():
    """The job reads the invoices due, then marks them one by one: the first e-mail queued is
    the moment a payment of another one lands."""
    account = on_terms()
    first, paid_meanwhile, last = (
        InvoiceFactory.create(account=account, due_on=datetime.date(2026, 11, 1)) for _ in range(3)
    )

    def pay_when_the_first_is_told(sender: Any, instance: Delivery, created: bool, **kw: Any):
        if created and instance.kind == OVERDUE:
            Invoice.objects.filter(pk=paid_meanwhile.pk).update(
                status=Status.PAID, amount_paid=paid_meanwhile.total
            )

    post_save.connect(pay_when_the_first_is_told, sender=Delivery, dispatch_uid="pay-meanwhile")
    try:
        marked = services.mark_overdue(today=datetime.date(2026, 11, 15))
    finally:
        post_save.disconnect(sender=Delivery, dispatch_uid="pay-meanwhile")

    assert marked == 2
    statuses = dict(Invoice.objects.values_list("pk", "status"))
    assert statuses == {
        first.pk: Status.OVERDUE,
        paid_meanwhile.pk: Status.PAID,
        last.pk: Status.OVERDUE,
    }
    assert sorted(e["invoice"] for e in told(OVERDUE)) == sorted([first.pk, last.pk])


def _account_reads(queries: list[dict[str, Any]]) -> list[str]:
    """The queries that read an account on its own (not joined to what it was read with)."""
    return [
        query["sql"]
        for query in queries
        if query["sql"].startswith("SELECT") and 'FROM "accounts_businessaccount"' in query["sql"]
    ]


def test_the_overdue_job_reads_each_invoices_account_with_the_invoice():
    account = on_terms()
    InvoiceFactory.create_batch(2, account=account, due_on=datetime.date(2026, 11, 1))

    with CaptureQueriesContext(connection) as queries:
        assert services.mark_overdue(today=datetime.date(2026, 11, 15)) == 2

    assert _account_reads(queries.captured_queries) == []


# --- paying ----------------------------------------------------------------------------------


IP = "198.51.100.7"


def pay(actor: Any, invoice: Invoice, method_id: int, key: str = "page-1") -> Payment:
    return services.pay_invoice(
        actor=actor,
        account=invoice.account,
        invoice_id=invoice.pk,
        method_id=method_id,
        key=key,
        ip=IP,
    )


@pytest.fixture
def paying(settings: Any) -> Any:
    """An account on terms with two open invoices, a validator and a card; the gateway is the
    in-memory fake, which keeps what each charge was asked."""
    fake = fakes.install(settings)
    account = on_terms()
    older, newer = InvoiceFactory.create_batch(2, account=account)
    validator = AccountLinkFactory.create(account=account, right=Right.VALIDATE).user
    card = CardFactory.create(account=account, is_default=True)
    return fake, older, newer, validator, card


def test_paying_an_invoice_pays_that_one_from_the_accounts_customer_and_tells_and_audits_it(
    paying,
):
    fake, older, newer, validator, card = paying

    with translation.override("fr"):  # the audit trail is written in English all the same
        payment = pay(validator, older, card.pk)

    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.status, newer.status) == (Status.PAID, Status.OPEN)
    [taken] = fake.charges
    assert (taken.customer, taken.gateway_id, taken.cents, taken.idempotency_key) == (
        f"cus_fake{older.account.pk}",
        card.gateway_id,
        11_300,
        f"{older.number}:11300:1",  # the invoice, the amount and the try: not the page's key
    )
    assert payment.idempotency_key == "page-1:1"
    [event] = AuditEvent.objects.filter(event=AuditEvent.Event.INVOICE_PAID)
    assert (event.actor, event.account, event.ip) == (validator, older.account, IP)
    assert event.details == {"invoice": older.number, "amount": "$113.00", "payment": payment.pk}
    assert [(e["invoice"], e["number"], e["amount"], e["payment_kind"]) for e in told(PAID)] == [
        (older.pk, older.number, "113.00", "CARD")
    ]


def test_a_refused_card_is_audited_with_who_paid_from_where_for_which_account(paying):
    fake, older, _newer, validator, card = paying
    fake.next_outcome = Refusal.DECLINED

    with pytest.raises(CardNotAccepted):
        pay(validator, older, card.pk)

    [event] = AuditEvent.objects.filter(event=AuditEvent.Event.INVOICE_PAYMENT_FAILED)
    assert (event.actor, event.account, event.ip) == (validator, older.account, IP)
    assert event.details["invoice"] == older.number


def test_a_paid_invoice_refuses_a_payment_from_another_page(paying):
    _fake, older, _newer, validator, card = paying

    first = pay(validator, older, card.pk, key="page-1")

    assert pay(validator, older, card.pk, key="page-1") == first  # the same page sent twice
    with pytest.raises(InvoiceNotPayable):
        pay(validator, older, card.pk, key="page-2")
    assert list(Payment.objects.all()) == [first]


def test_a_supplier_account_does_not_pay_an_invoice_online(paying):
    fake, older, _newer, validator, _card = paying
    supplier = SupplierAccountFactory.create(account=older.account)

    with pytest.raises(PaymentMethodNotFound):
        pay(validator, older, supplier.pk)

    assert fake.charges == []
    assert not Payment.objects.exists()


# --- offline payments ----------------------------------------------------------------------------


def test_staff_record_offline_payments_of_two_invoices_each_told_and_audited_on_its_own():
    staff = UserFactory.create(is_staff=True)
    account = on_terms()
    invoices = InvoiceFactory.create_batch(2, account=account)

    with CaptureQueriesContext(connection) as queries, translation.override("fr"):
        payments = [
            services.record_offline_payment(
                staff=staff,
                invoice_id=invoice.pk,
                method=Payment.Method.CHEQUE,
                amount=invoice.total,
                reference=f"cheque {n}",
            )
            for n, invoice in enumerate(invoices)
        ]

    assert [p.status for p in payments] == [Payment.Status.SUCCEEDED] * 2
    assert len({p.idempotency_key for p in payments}) == 2
    assert set(Invoice.objects.values_list("status", flat=True)) == {Status.PAID}
    recorded = AuditEvent.objects.filter(event=AuditEvent.Event.OFFLINE_PAYMENT_RECORDED)
    assert sorted((e.actor, e.account, e.details["payment"]) for e in recorded) == [
        (staff, account, payment.pk) for payment in payments
    ]
    assert {e.details["amount"] for e in recorded} == {"$113.00"}
    assert [(e["invoice"], e["number"], e["amount"], e["payment_kind"]) for e in told(PAID)] == [
        (invoice.pk, invoice.number, "113.00", "CHEQUE") for invoice in invoices
    ]
    assert _account_reads(queries.captured_queries) == []


# --- refunds -----------------------------------------------------------------------------------


def test_a_refund_is_audited_with_what_was_paid_for_and_its_total(stripe_api):
    account = BusinessAccountFactory.create(kind=BusinessAccount.Kind.SMALL_BUSINESS)
    actor = AccountLinkFactory.create(account=account, right=Right.MANAGE).user
    setup = services.start_card_setup(actor=actor, account=account)
    browser_setup(stripe_api, setup.setup_id, GOOD_CARD)
    services.save_card(actor=actor, account=account, setup_id=setup.setup_id, ip=None)
    paid = services.charge_for(
        account=account, description="Return label", amount=D("10.00"), source="label:CA7"
    )
    staff = UserFactory.create(is_staff=True)

    services.refund_charge(staff=staff, charge_id=paid.pk)

    [event] = AuditEvent.objects.filter(event=AuditEvent.Event.CHARGE_REFUNDED)
    assert event.details == {"charge": paid.pk, "source": "label:CA7", "total": "11.30"}


# --- charges -----------------------------------------------------------------------------------


def test_a_charge_keeps_what_it_is_for_and_is_one_unit_unless_told():
    account = BusinessAccountFactory.create()
    ContractFactory.create(account=account)
    BillingProfileFactory.create(account=account, terms_days=30)  # billed to account: no gateway

    made = services.charge_for(
        account=account, description="Return label CA7", amount=D("10.00"), source="label:CA7"
    )

    made.refresh_from_db()
    assert (made.description, made.quantity, made.status) == (
        "Return label CA7",
        1,
        Charge.Status.AWAITING_INVOICE,
    )


def test_a_card_charge_is_asked_of_the_accounts_own_customer_with_its_own_key(settings):
    fake = fakes.install(settings)
    account = BusinessAccountFactory.create(kind=BusinessAccount.Kind.SMALL_BUSINESS)
    card = CardFactory.create(account=account, is_default=True)

    made = services.charge_for(
        account=account, description="Return label", amount=D("10.00"), source="label:CA8"
    )

    [taken] = fake.charges
    assert (taken.customer, taken.gateway_id, taken.cents, taken.payment_id) == (
        f"cus_fake{account.pk}",
        card.gateway_id,
        1130,
        made.gateway_payment_id,
    )
    # The source, the card, the amount and the first try: a retry of a lost answer is the same.
    assert taken.idempotency_key == f"charge:{account.pk}:label:CA8:{card.gateway_id}:1130:1"


# --- money and counts as each reader writes them ------------------------------------------------


def test_a_count_as_each_reader_writes_it():
    assert format_count(1234567, "en") == "1,234,567"
    assert format_count(1234567, "fr") == f"1{NBSP}234{NBSP}567"
    with translation.override("fr"):
        assert format_count(1000) == f"1{NBSP}000"
        assert format_count(1000, "en") == "1,000"
    with translation.override("en"):
        assert format_count(1000) == "1,000"
        assert format_count(1000, "fr-ca") == f"1{NBSP}000"


def test_without_an_active_language_amounts_and_counts_are_written_the_english_way():
    with translation.override(None):
        assert format_money(D("1234.5")) == "$1,234.50"
        assert format_count(1000) == "1,000"


# --- tax ----------------------------------------------------------------------------------------


def test_an_unknown_province_is_named_in_the_error():
    with pytest.raises(UnknownProvince) as unknown:
        taxed(D("10.00"), province="ZZ", day=datetime.date(2026, 6, 15))

    assert unknown.value.args == ("ZZ",)
