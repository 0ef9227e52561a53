"""seed_demo's billing history: a year of invoices for the commercial demo account, statements
for a small business, one small business close to the upgrade, cards at localstripe when it
answers; and running it again (the same day or a month later) adds nothing twice."""

import datetime
from decimal import ROUND_HALF_UP, Decimal
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Count, Sum

from accounts import rights
from accounts.models import BusinessAccount, User
from accounts.rights import Right
from billing import selectors, services
from billing.models import (
    BillingProfile,
    Charge,
    Invoice,
    InvoiceNumber,
    Payment,
    PaymentMethod,
    Statement,
    UpgradeReview,
)
from billing.periods import EASTERN
from portal.tracking_numbers import is_valid
from tests.billing.conftest import stripe_client

pytestmark = pytest.mark.django_db

MAPLE_LEAF, PRAIRIE_POTTERY, COTE_NORD, BOREAL = (
    "0001234567",
    "0002468135",
    "0001357924",
    "0007654321",
)
MID_MAY = datetime.datetime(2026, 5, 15, 12, 0, tzinfo=EASTERN)
MID_JUNE = datetime.datetime(2026, 6, 15, 12, 0, tzinfo=EASTERN)
CENT = Decimal("0.01")
NOBODY_LISTENS = "http://127.0.0.1:9"  # the discard port: refused at once


@pytest.fixture
def no_localstripe(settings: Any) -> None:
    settings.BILLING_GATEWAY = "billing.gateway.StripeGateway"
    settings.STRIPE_API_BASE = NOBODY_LISTENS


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def account(number: str) -> BusinessAccount:
    return BusinessAccount.objects.get(customer_number=number)


def counts() -> list[int]:
    models = (BillingProfile, Charge, Invoice, InvoiceNumber, Payment, PaymentMethod, Statement)
    return [model.objects.count() for model in models] + [
        sum(InvoiceNumber.objects.values_list("last", flat=True))
    ]


def charge_sums(**filters: Any) -> dict[str, Any]:
    return Charge.objects.filter(**filters).aggregate(
        amount=Sum("amount"),
        gst=Sum("gst"),
        hst=Sum("hst"),
        pst=Sum("pst"),
        qst=Sum("qst"),
        total=Sum("total"),
        count=Count("pk"),
    )


def assert_totals_are_the_sums_of_their_charges(document: Invoice | Statement) -> None:
    key = "invoice" if isinstance(document, Invoice) else "statement"
    sums = charge_sums(**{key: document})
    for field in ("amount", "gst", "hst", "pst", "qst", "total"):
        assert getattr(document, field) == sums[field], (document, field)


def assert_numbers_are_gapless() -> None:
    for counter in InvoiceNumber.objects.all():
        numbers = sorted(
            Invoice.objects.filter(number__startswith=f"{counter.year}-").values_list(
                "number", flat=True
            )
        )
        assert numbers == [f"{counter.year}-{n:06d}" for n in range(1, counter.last + 1)]


@time_machine.travel(MID_MAY, tick=False)
def test_seed_demo_twice_leaves_the_same_counts(no_localstripe):
    seed()
    first = counts()
    printed = seed()

    assert counts() == first
    assert first[2] == 12  # Maple Leaf's invoices
    assert "Maple Leaf Outfitters Inc.: commercial, billed to account on 30-day terms" in printed
    assert "Prairie Pottery Studio: small business, pays by card" in printed
    assert "Atelier Côte-Nord: small business paying with a postage-meter supplier" in printed


@time_machine.travel(MID_MAY, tick=False)
def test_maple_leaf_has_a_year_of_invoices_one_open_and_one_overdue(no_localstripe):
    seed()
    maple = account(MAPLE_LEAF)
    invoices = list(Invoice.objects.filter(account=maple).order_by("period_start"))

    assert selectors.bills_to_account(maple, selectors.profile_of(maple))
    assert [i.period_start for i in invoices] == [
        datetime.date(2025 + (m > 12), (m - 1) % 12 + 1, 1) for m in range(5, 17)
    ]  # May 2025 to April 2026, the last 12 closed months
    assert [i.status for i in invoices] == ["PAID"] * 10 + ["OVERDUE", "OPEN"]
    for invoice in invoices:
        assert_totals_are_the_sums_of_their_charges(invoice)
        assert invoice.issued_on == invoice.period_end + datetime.timedelta(days=1)
        assert invoice.due_on == invoice.issued_on + datetime.timedelta(days=30)
        # Each charge is a return label's, named as returns charges one at drop-off.
        sources = list(invoice.charges.values_list("source_reference", flat=True))
        assert 10 <= len(sources) <= 60
        assert all(is_valid(source.removeprefix("label:")) for source in sources)
        assert set(invoice.charges.values_list("kind", flat=True)) == {Charge.Kind.RETURN_LABEL}
    for invoice in invoices[:10]:
        payment = invoice.payments.get()
        assert (payment.status, payment.amount) == ("SUCCEEDED", invoice.total)
        assert payment.method in ("EFT", "CHEQUE") and invoice.amount_paid == invoice.total
    assert invoices[-1].due_on >= MID_MAY.date() > invoices[-2].due_on  # open, overdue
    assert all(i.balance == i.total for i in invoices[-2:])
    assert_numbers_are_gapless()


@time_machine.travel(MID_MAY, tick=False)
def test_maple_leaf_charges_carry_ontario_hst_and_this_month_waits_for_its_invoice(
    no_localstripe,
):
    seed()
    maple = account(MAPLE_LEAF)
    charges = Charge.objects.filter(account=maple)

    for charge in charges.iterator():
        assert charge.hst == (charge.amount * 13 / 100).quantize(CENT, ROUND_HALF_UP)
        assert charge.gst == charge.pst == charge.qst == 0
        assert charge.total == charge.amount + charge.hst
    waiting = charges.filter(status=Charge.Status.AWAITING_INVOICE)
    assert waiting.exists()
    assert all(c.charged_at < MID_MAY and c.charged_at.month == 5 for c in waiting)
    assert not charges.filter(invoice__isnull=True).exclude(status="AWAITING_INVOICE").exists()


@time_machine.travel(MID_MAY, tick=False)
def test_prairie_pottery_has_six_statements_of_its_card_charges(no_localstripe):
    seed()
    prairie = account(PRAIRIE_POTTERY)
    statements = list(Statement.objects.filter(account=prairie).order_by("period_start"))

    assert prairie.kind == BusinessAccount.Kind.SMALL_BUSINESS
    assert [s.period_start for s in statements] == [
        datetime.date(2025, 11, 1),
        datetime.date(2025, 12, 1),
        *(datetime.date(2026, m, 1) for m in range(1, 5)),
    ]
    for statement in statements:
        assert_totals_are_the_sums_of_their_charges(statement)
        assert statement.charge_count == statement.charges.count() > 0
        assert set(statement.charges.values_list("status", flat=True)) == {"PAID"}
    assert not Invoice.objects.filter(account=prairie).exists()
    charge = Charge.objects.filter(account=prairie).first()
    assert charge is not None and charge.gst > 0 and charge.pst > 0  # Manitoba: GST and PST
    demo = User.objects.get(email="demo@portal.example")
    assert rights.can(demo, Right.VALIDATE, prairie)


@time_machine.travel(MID_MAY, tick=False)
def test_atelier_cote_nord_is_close_to_the_upgrade_but_not_there(no_localstripe, settings):
    seed()
    cote_nord = account(COTE_NORD)
    readiness = selectors.credit_readiness(cote_nord, MID_MAY.date())

    needed = settings.BILLING_UPGRADE_SHIPMENTS
    assert 0.85 * needed <= readiness.shipments < needed
    assert not readiness.reached
    assert services.find_upgrade_candidates(today=MID_MAY.date()) == []
    assert not UpgradeReview.objects.filter(account=cote_nord).exists()
    method = selectors.default_method(cote_nord)
    assert method is not None and method.kind == PaymentMethod.Kind.SUPPLIER_ACCOUNT
    assert set(Charge.objects.filter(account=cote_nord).values_list("status", flat=True)) == {
        "SUPPLIER"
    }


@time_machine.travel(MID_MAY, tick=False)
def test_without_localstripe_there_are_no_cards_and_the_summary_says_so(no_localstripe):
    printed = seed()

    assert "localstripe is not answering at http://127.0.0.1:9" in printed
    assert not PaymentMethod.objects.filter(kind=PaymentMethod.Kind.CARD).exists()


def test_a_month_later_the_waiting_charges_land_on_the_new_invoice(no_localstripe):
    with time_machine.travel(MID_MAY, tick=False):
        seed()
        waiting = set(Charge.objects.filter(status="AWAITING_INVOICE").values_list("pk", flat=True))
    with time_machine.travel(MID_JUNE, tick=False):
        seed()

    maple = account(MAPLE_LEAF)
    may = Invoice.objects.get(account=maple, period_start=datetime.date(2026, 5, 1))
    assert waiting <= set(may.charges.values_list("pk", flat=True))
    assert_totals_are_the_sums_of_their_charges(may)
    assert Invoice.objects.filter(account=maple).count() == 13
    assert Statement.objects.filter(account=account(PRAIRIE_POTTERY)).count() == 7
    for statement in Statement.objects.all():
        assert_totals_are_the_sums_of_their_charges(statement)
    assert_numbers_are_gapless()


@time_machine.travel(MID_MAY, tick=False)
def test_with_localstripe_the_demo_cards_are_real_and_pay_the_open_invoice(stripe_api):
    printed = seed()
    seed()

    cards = PaymentMethod.objects.filter(kind=PaymentMethod.Kind.CARD, status="ACTIVE")
    assert sorted(cards.values_list("account__customer_number", "holder_name", "last4")) == [
        (MAPLE_LEAF, "Owen Fraser", "4242"),
        (COTE_NORD, "Élise Gagnon", "4242"),
        (PRAIRIE_POTTERY, "Ava Singh", "4242"),
        (BOREAL, "Marc Lévesque", "4242"),
    ]
    # Côte-Nord still pays with its supplier account first.
    default = PaymentMethod.objects.get(account=account(COTE_NORD), is_default=True)
    assert default.kind == PaymentMethod.Kind.SUPPLIER_ACCOUNT
    assert "Demo cards (Visa ending in 4242, saved at localstripe" in printed
    client = stripe_client(stripe_api)
    for card in cards:
        at_gateway = client.v1.payment_methods.retrieve(card.gateway_id)
        assert at_gateway.customer == selectors.profile_of(card.account).gateway_customer_id
    maple = account(MAPLE_LEAF)
    card = cards.get(account=maple)
    open_invoice = Invoice.objects.get(account=maple, status=Invoice.Status.OPEN)
    payment = services.pay_invoice(
        actor=User.objects.get(email="demo@portal.example"),
        account=maple,
        invoice_id=open_invoice.pk,
        method_id=card.pk,
        key="demo-test",
        ip=None,
    )
    open_invoice.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED and open_invoice.status == "PAID"
