"""The billing pages cost as many queries with 1,000 invoices, charges, statements or cards as with
10: lists are paged and summed in the database, and nothing is read row by row."""

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import BusinessAccount
from accounts.rights import Right
from billing.models import Charge, Invoice, Payment, PaymentMethod, Statement
from portal import fragments
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.billing.factories import BillingProfileFactory, InvoiceFactory, StatementFactory

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
FEW, MANY = 10, 1000
# What a page may cost at most: the session and user, the rights summary, the account, the page's
# own reads. A page over it has grown a query somewhere.
BUDGET = 14


@dataclass
class Accounts:
    commercial: BusinessAccount
    small: BusinessAccount
    invoice: Invoice
    statement: Statement


@pytest.fixture
def accounts() -> Accounts:
    commercial = BusinessAccountFactory.create()
    ContractFactory.create(account=commercial)
    BillingProfileFactory.create(account=commercial, terms_days=30)
    small = BusinessAccountFactory.create(kind=BusinessAccount.Kind.SMALL_BUSINESS)
    BillingProfileFactory.create(account=small)
    invoice = InvoiceFactory.create(account=commercial, period_start=datetime.date(1999, 1, 1))
    statement = StatementFactory.create(account=small, period_start=datetime.date(1999, 1, 1))
    return Accounts(commercial, small, invoice, statement)


@pytest.fixture
def consultant(client: Client, accounts: Accounts) -> Client:
    user = AccountLinkFactory.create(account=accounts.commercial, right=Right.VALIDATE).user
    AccountLinkFactory.create(account=accounts.small, right=Right.VALIDATE, user=user)
    client.force_login(user)
    return client


# --- rows, made in bulk up to a count ---------------------------------------------------------


def _month(n: int) -> datetime.date:
    return datetime.date(2000 + n // 12, n % 12 + 1, 1)


def invoices(account: BusinessAccount, upto: int) -> None:
    have = Invoice.objects.filter(account=account).count()
    statuses = [Invoice.Status.OPEN, Invoice.Status.OVERDUE, Invoice.Status.PAID]
    Invoice.objects.bulk_create(
        Invoice(
            account=account,
            number=f"Q{account.pk}-{n:06d}",
            period_start=_month(n),
            period_end=_month(n) + datetime.timedelta(days=27),
            issued_on=_month(n) + datetime.timedelta(days=31),
            due_on=_month(n) + datetime.timedelta(days=61),
            terms_days=30,
            status=statuses[n % 3],
            amount=Decimal("100.00"),
            hst=Decimal("13.00"),
            total=Decimal("113.00"),
            amount_paid=Decimal("113.00") if n % 3 == 2 else Decimal("0.00"),
        )
        for n in range(have, upto)
    )


def charges(account: BusinessAccount, upto: int, **fields: object) -> None:
    have = Charge.objects.filter(account=account).count()
    Charge.objects.bulk_create(
        Charge(
            account=account,
            description=f"Return label {n}",
            source_reference=f"label:{account.pk}:{n}",
            province="ON",
            amount=Decimal("10.00"),
            hst=Decimal("1.30"),
            total=Decimal("11.30"),
            charged_at=datetime.datetime(2026, 9, 1, tzinfo=UTC) + datetime.timedelta(minutes=n),
            **fields,  # type: ignore[arg-type]
        )
        for n in range(have, upto)
    )


def statements(account: BusinessAccount, upto: int) -> None:
    have = Statement.objects.filter(account=account).count()
    Statement.objects.bulk_create(
        Statement(
            account=account,
            period_start=_month(n),
            period_end=_month(n) + datetime.timedelta(days=27),
            issued_on=_month(n) + datetime.timedelta(days=31),
            amount=Decimal("20.00"),
            hst=Decimal("2.60"),
            total=Decimal("22.60"),
            charge_count=2,
        )
        for n in range(have, upto)
    )


def cards(account: BusinessAccount, upto: int) -> None:
    have = PaymentMethod.objects.filter(account=account).count()
    PaymentMethod.objects.bulk_create(
        PaymentMethod(
            account=account,
            gateway_id=f"pm_bulk{account.pk}x{n}",
            brand="visa",
            last4=f"{n % 10000:04d}",
            exp_month=n % 12 + 1,
            exp_year=2030,
            is_default=n == 0,
        )
        for n in range(have, upto)
    )


# --- each page, and what grows under it ---------------------------------------------------------

Grow = Callable[[int], None]


def _overview(a: Accounts) -> tuple[str, Grow]:
    def grow(n: int) -> None:
        invoices(a.commercial, n)
        charges(a.commercial, n, status=Charge.Status.AWAITING_INVOICE)
        cards(a.commercial, n)

    return reverse("billing:overview", args=[a.commercial.pk]), grow


def _small_overview(a: Accounts) -> tuple[str, Grow]:
    def grow(n: int) -> None:
        statements(a.small, n)
        charges(a.small, n, status=Charge.Status.PAID)
        cards(a.small, n)

    return reverse("billing:overview", args=[a.small.pk]), grow


def _methods(a: Accounts) -> tuple[str, Grow]:
    return reverse("billing:methods", args=[a.commercial.pk]), lambda n: cards(a.commercial, n)


def _invoices(a: Accounts) -> tuple[str, Grow]:
    return reverse("billing:invoices", args=[a.commercial.pk]), lambda n: invoices(a.commercial, n)


def _invoice(a: Accounts) -> tuple[str, Grow]:
    def grow(n: int) -> None:
        charges(a.commercial, n, status=Charge.Status.INVOICED, invoice=a.invoice)
        cards(a.commercial, 3)
        card = PaymentMethod.objects.filter(account=a.commercial).first()
        if not Payment.objects.filter(invoice=a.invoice).exists():
            Payment.objects.bulk_create(
                Payment(
                    invoice=a.invoice,
                    method=Payment.Method.CARD,
                    payment_method=card,
                    amount=Decimal("113.00"),
                    status=Payment.Status.FAILED,
                    idempotency_key=f"query-count:{k}",
                )
                for k in range(3)
            )

    return reverse("billing:invoice", args=[a.commercial.pk, a.invoice.pk]), grow


def _statements(a: Accounts) -> tuple[str, Grow]:
    return reverse("billing:statements", args=[a.small.pk]), lambda n: statements(a.small, n)


def _statement(a: Accounts) -> tuple[str, Grow]:
    def grow(n: int) -> None:
        cards(a.small, 2)
        card = PaymentMethod.objects.filter(account=a.small).first()
        charges(a.small, n, status=Charge.Status.PAID, statement=a.statement, payment_method=card)

    return reverse("billing:statement", args=[a.small.pk, a.statement.pk]), grow


PAGES: dict[str, Callable[[Accounts], tuple[str, Grow]]] = {
    "overview": _overview,
    "small-overview": _small_overview,
    "methods": _methods,
    "invoices": _invoices,
    "invoice": _invoice,
    "statements": _statements,
    "statement": _statement,
}


def measured(client: Client, path: str) -> tuple[int, str]:
    """The queries a GET of `path` costs, and what it shows (its forms' tokens left out: they
    differ on every request)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(captured), shown(response)


def shown(response: Any) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="\w+"', "", response.content.decode())


def queries_of(client: Client, path: str) -> int:
    return measured(client, path)[0]


def rows_changed(a: Accounts) -> None:
    """What a bulk write must do itself (portal/fragments.py): bulk_create sends no post_save, so
    the accounts' fragments would otherwise go on showing the rows of before."""
    fragments.changed(fragments.account_scope(a.commercial.pk), fragments.account_scope(a.small.pk))


@pytest.mark.parametrize("rendering", ["full", "cached"])
@pytest.mark.parametrize("page", list(PAGES))
def test_a_billing_page_costs_the_same_queries_at_10_and_at_1000_rows(
    consultant, accounts, django_assert_num_queries, request, page, rendering
):
    """In full (the fragment cache off): every query the page's rows cost is counted. Cached:
    the page served from a fragment rendered at 1,000 rows costs what it costs at 10, so nothing
    outside the fragment reads rows."""
    if rendering == "full":
        request.getfixturevalue("full_render")
    path, grow = PAGES[page](accounts)
    grow(FEW)
    consultant.get(path)  # the gate's snapshot read once for the process; the fragment filled
    few, at_few = measured(consultant, path)

    grow(MANY)
    rows_changed(accounts)
    consultant.get(path)  # cached: the fragment filled again, at 1,000 rows
    with django_assert_num_queries(few):
        response = consultant.get(path)

    assert response.status_code == 200
    assert shown(response) != at_few, "measured at 1,000 rows, the page still shows 10"
    assert few <= BUDGET


@pytest.mark.usefixtures("full_render")
@pytest.mark.parametrize("page", ["invoices", "statements", "invoice", "statement"])
def test_the_last_page_of_a_long_list_costs_the_same_as_the_first(
    consultant, accounts, django_assert_num_queries, page
):
    path, grow = PAGES[page](accounts)
    grow(MANY)
    consultant.get(path)
    first = queries_of(consultant, path)

    with django_assert_num_queries(first):
        response = consultant.get(path, {"page": "last"})

    assert response.status_code == 200
    assert 'aria-current="page"' in response.content.decode()


@pytest.mark.parametrize(
    ("page", "table"), [("invoice", "billing_invoice"), ("statement", "billing_statement")]
)
def test_a_cached_document_page_reads_the_document_and_its_account_in_one_query(
    consultant, accounts, page, table
):
    path, _grow = PAGES[page](accounts)
    consultant.get(path)  # fills the fragment

    with CaptureQueriesContext(connection) as served:
        response = consultant.get(path)

    assert response.status_code == 200
    sql = [query["sql"] for query in served.captured_queries]
    reading_the_document = [query for query in sql if f'FROM "{table}"' in query]
    assert len(reading_the_document) == 1
    assert '"accounts_businessaccount"."legal_name"' in reading_the_document[0]  # joined
    assert not any(query.startswith('SELECT "accounts_businessaccount"') for query in sql)
