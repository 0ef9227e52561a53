"""Invoices: what mutation testing found unasked. The nightly overdue job reads only the invoices
still open: the settled past-due invoices of every year cost it no query, however many there are.
A payment key sent again answers with its own invoice's payment only, never another invoice's.
The gateway's key of a charge counts the refusals of that invoice alone.
"""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from accounts.rights import Right
from billing import services
from billing.exceptions import CardNotAccepted
from billing.gateway import Refusal
from billing.models import Invoice, Payment
from tests.accounts.factories import BusinessAccountFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.billing import fakes
from tests.billing.factories import CardFactory, InvoiceFactory

pytestmark = pytest.mark.django_db
Status = Invoice.Status
LONG_DUE = datetime.date(2026, 9, 30)
TODAY = datetime.date(2026, 11, 15)


def overdue_run_queries() -> int:
    with CaptureQueriesContext(connection) as queries:
        assert services.mark_overdue(today=TODAY) == 0
    return len(queries.captured_queries)


def test_the_overdue_job_spends_no_query_on_invoices_already_settled_or_marked():
    account = BusinessAccountFactory.create()
    nothing_settled = overdue_run_queries()
    for status in (Status.PAID, Status.VOID, Status.OVERDUE):
        InvoiceFactory.create_batch(3, account=account, due_on=LONG_DUE, status=status)

    assert overdue_run_queries() == nothing_settled
    assert Invoice.objects.filter(status=Status.OVERDUE, overdue_notified_on=TODAY).count() == 0


def test_a_payment_key_already_used_for_another_invoice_never_answers_for_this_one(settings):
    """Only the same invoice's payment answers a key sent again; the key of another invoice's
    payment is refused by its unique constraint, and this invoice is neither charged nor paid."""
    fake = fakes.install(settings)
    account = BusinessAccountFactory.create()
    first, second = InvoiceFactory.create_batch(2, account=account)
    validator = AccountLinkFactory.create(account=account, right=Right.VALIDATE).user
    card = CardFactory.create(account=account, is_default=True)

    def pay(invoice: Invoice) -> Payment:
        return services.pay_invoice(
            actor=validator,
            account=account,
            invoice_id=invoice.pk,
            method_id=card.pk,
            key="page-1",
            ip=None,
        )

    paid = pay(first)
    with pytest.raises(IntegrityError):
        pay(second)

    assert (paid.invoice, paid.idempotency_key) == (first, "page-1:1")
    assert list(Payment.objects.all()) == [paid]
    assert len(fake.charges) == 1
    second.refresh_from_db()
    assert (second.status, second.amount_paid) == (Status.OPEN, Decimal("0.00"))


def test_the_gateway_key_of_an_invoices_charge_counts_that_invoices_refusals_only(settings):
    fake = fakes.install(settings)
    account = BusinessAccountFactory.create()
    refused_once, other = InvoiceFactory.create_batch(2, account=account)
    validator = AccountLinkFactory.create(account=account, right=Right.VALIDATE).user
    card = CardFactory.create(account=account, is_default=True)

    def pay(invoice: Invoice, key: str) -> Payment:
        return services.pay_invoice(
            actor=validator,
            account=account,
            invoice_id=invoice.pk,
            method_id=card.pk,
            key=key,
            ip=None,
        )

    fake.next_outcome = Refusal.DECLINED
    with pytest.raises(CardNotAccepted):
        pay(refused_once, "page-1")
    pay(other, "page-2")
    pay(refused_once, "page-3")

    assert [charge.idempotency_key for charge in fake.charges] == [
        f"{other.number}:11300:1",
        f"{refused_once.number}:11300:2",  # a new charge after the refusal
    ]
    assert set(Invoice.objects.values_list("status", flat=True)) == {Status.PAID}
