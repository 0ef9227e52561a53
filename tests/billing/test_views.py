"""Billing pages through the test client: both sides of every right, another business's ids,
anonymous visitors, CSRF, bad input, the PDF and CSV read back, and the maintenance gate.

CONSULT reads everything; MANAGE adds a card and prepares removals and payments for the
validators; VALIDATE sets the default, removes and pays (through localstripe with a card saved as
a browser would). Every page needs a grant on the whole account: a contract-only user and another
business get a 404, never a 403.
"""

import csv
import datetime
import html
import io
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from pypdf import PdfReader

from accounts.models import BusinessAccount, Grant, User, ValidationRequest
from accounts.rights import Right
from billing import actions, exports, services
from billing.models import Charge, Invoice, Payment, PaymentMethod, Statement
from outages.features import Feature
from outages.models import Interruption
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.billing.conftest import GOOD_CARD, browser_setup
from tests.billing.factories import (
    BillingProfileFactory,
    CardFactory,
    ChargeFactory,
    InvoiceFactory,
    StatementFactory,
)
from tests.outages.factories import closing

# Paying and removing ask for a fresh second factor: bypassed here except where that is the test.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reauth_bypass")]
UTC = datetime.UTC


# --- the books of two accounts of one business, and of another business -------------------------


@dataclass
class Books:
    commercial: BusinessAccount
    small: BusinessAccount
    invoice: Invoice  # open, $1,234.56
    paid: Invoice
    statement: Statement
    card: PaymentMethod  # the commercial account's default (a made-up gateway id)
    spare: PaymentMethod


def _books(name: str, number: str) -> Books:
    commercial = BusinessAccountFactory.create(legal_name=name)
    ContractFactory.create(account=commercial)
    BillingProfileFactory.create(account=commercial, terms_days=30)
    invoice = InvoiceFactory.create(
        account=commercial,
        number=number,
        period_start=datetime.date(2026, 9, 1),
        period_end=datetime.date(2026, 9, 30),
        issued_on=datetime.date(2026, 10, 1),
        due_on=datetime.date(2026, 10, 31),
        amount=Decimal("1092.53"),
        hst=Decimal("142.03"),
        total=Decimal("1234.56"),
    )
    ChargeFactory.create(
        account=commercial,
        invoice=invoice,
        status=Charge.Status.INVOICED,
        description="Return labels, September",
        source_reference="label:CA100200300",
        quantity=84,
        amount=Decimal("1092.53"),
        hst=Decimal("142.03"),
        total=Decimal("1234.56"),
        charged_at=datetime.datetime(2026, 9, 15, 16, 0, tzinfo=UTC),
    )
    paid = InvoiceFactory.create(
        account=commercial,
        status=Invoice.Status.PAID,
        amount_paid=Decimal("113.00"),
        period_start=datetime.date(2026, 8, 1),
        period_end=datetime.date(2026, 8, 31),
    )
    small = BusinessAccountFactory.create(
        legal_name=f"{name} (boutique)", kind=BusinessAccount.Kind.SMALL_BUSINESS
    )
    statement = StatementFactory.create(
        account=small,
        period_start=datetime.date(2026, 10, 1),
        period_end=datetime.date(2026, 10, 31),
        amount=Decimal("20.00"),
        hst=Decimal("2.60"),
        total=Decimal("22.60"),
        charge_count=2,
    )
    ChargeFactory.create_batch(
        2,
        account=small,
        statement=statement,
        status=Charge.Status.PAID,
        charged_at=datetime.datetime(2026, 10, 7, 15, 0, tzinfo=UTC),
    )
    card = CardFactory.create(account=commercial, is_default=True)
    spare = CardFactory.create(account=commercial, brand="mastercard", last4="4444")
    return Books(commercial, small, invoice, paid, statement, card, spare)


@pytest.fixture
def books() -> Books:
    return _books("Boréal Distribution Ltée", "2026-000101")


@pytest.fixture
def theirs() -> Books:
    """Another business's accounts, invoices, statement and cards."""
    return _books("Northern Freight Co.", "2026-000202")


def member(books: Books, level: Right) -> User:
    """A user holding `level` on the whole of both accounts of `books`."""
    user = AccountLinkFactory.create(account=books.commercial, right=level).user
    AccountLinkFactory.create(account=books.small, right=level, user=user)
    return user


def contract_only(books: Books) -> User:
    """A user whose only grant (VALIDATE) is on a contract of each account."""
    first = AccountLinkFactory.create(account=books.commercial, right=0)
    second = AccountLinkFactory.create(account=books.small, right=0, user=first.user)
    for link in (first, second):
        contract = ContractFactory.create(account=link.account)
        Grant.objects.create(link=link, contract=contract, level=Right.VALIDATE)
    return first.user


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def url(name: str, account: BusinessAccount, *ids: int) -> str:
    return reverse(f"billing:{name}", args=[account.pk, *ids])


def messages_of(response: HttpResponse) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]  # type: ignore[attr-defined]


def text_of(response: HttpResponse) -> str:
    return html.unescape(response.content.decode())


def state() -> tuple[Any, ...]:
    """Everything a billing write could change."""
    return (
        sorted(PaymentMethod.objects.values_list("pk", "status", "is_default")),
        sorted(Invoice.objects.values_list("pk", "status", "amount_paid")),
        Payment.objects.count(),
        ValidationRequest.objects.count(),
    )


Page = Callable[[Books], str]

READS: dict[str, Page] = {
    "overview": lambda b: url("overview", b.commercial),
    "small-overview": lambda b: url("overview", b.small),
    "methods": lambda b: url("methods", b.commercial),
    "invoices": lambda b: url("invoices", b.commercial),
    "invoice": lambda b: url("invoice", b.commercial, b.invoice.pk),
    "invoice-pdf": lambda b: url("invoice_pdf", b.commercial, b.invoice.pk),
    "invoice-csv": lambda b: url("invoice_csv", b.commercial, b.invoice.pk),
    "statements": lambda b: url("statements", b.small),
    "statement": lambda b: url("statement", b.small, b.statement.pk),
    "statement-pdf": lambda b: url("statement_pdf", b.small, b.statement.pk),
    "statement-csv": lambda b: url("statement_csv", b.small, b.statement.pk),
}


def pay_data(method: PaymentMethod, key: str | None = None) -> dict[str, str]:
    return {"method": str(method.pk), "key": key or str(uuid.uuid4())}


# (method, page, data): every write, and the GET pages that prepare one.
WRITES: dict[str, tuple[str, Page, Callable[[Books], dict[str, str]]]] = {
    "add-card-page": ("get", lambda b: url("add_card", b.commercial), lambda b: {}),
    "add-card": (
        "post",
        lambda b: url("add_card", b.commercial),
        lambda b: {"setup_id": "seti_123"},
    ),
    "make-default": ("post", lambda b: url("make_default", b.commercial, b.spare.pk), lambda b: {}),
    "remove-page": ("get", lambda b: url("remove_method", b.commercial, b.card.pk), lambda b: {}),
    "remove": ("post", lambda b: url("remove_method", b.commercial, b.card.pk), lambda b: {}),
    "pay-page": ("get", lambda b: url("pay", b.commercial, b.invoice.pk), lambda b: {}),
    "pay": (
        "post",
        lambda b: url("pay", b.commercial, b.invoice.pk),
        lambda b: pay_data(b.card),
    ),
}


def write(client: Client, name: str, books: Books) -> Any:
    method, page, data = WRITES[name]
    return getattr(client, method)(page(books), data(books))


def visit(client: Client, page: str, books: Books) -> Any:
    """GET a page of READS, or do what WRITES names."""
    if page in READS:
        return client.get(READS[page](books))
    return write(client, page, books)


def saved_card(actor: User, account: BusinessAccount, base: str, number: str = GOOD_CARD) -> Any:
    """A card saved through localstripe, as the card page and Stripe.js would."""
    setup = services.start_card_setup(actor=actor, account=account)
    browser_setup(base, setup.setup_id, number)
    return services.save_card(actor=actor, account=account, setup_id=setup.setup_id, ip=None)


# --- CONSULT --------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", list(READS))
def test_consult_reads_every_billing_page(client, books, page):
    signed_in(client, member(books, Right.CONSULT))

    response = client.get(READS[page](books))

    assert response.status_code == 200


def test_consult_is_offered_no_button_to_add_pay_remove_or_make_default(client, books):
    signed_in(client, member(books, Right.CONSULT))

    methods = text_of(client.get(url("methods", books.commercial)))
    invoice = text_of(client.get(url("invoice", books.commercial, books.invoice.pk)))

    assert "Visa ending in 4242" in methods
    assert url("add_card", books.commercial) not in methods
    assert "Make default" not in methods
    assert url("remove_method", books.commercial, books.card.pk) not in methods
    assert "Download PDF" in invoice
    assert "Pay this invoice" not in invoice
    assert url("pay", books.commercial, books.invoice.pk) not in invoice


@pytest.mark.parametrize("action", list(WRITES))
def test_consult_cannot_add_pay_remove_or_make_default(client, books, action):
    signed_in(client, member(books, Right.CONSULT))
    before = state()

    response = write(client, action, books)

    assert response.status_code == 404  # no right on the whole account at that level
    assert state() == before


# --- MANAGE ---------------------------------------------------------------------------------------


def test_manage_is_offered_add_and_remove_but_not_make_default(client, books):
    signed_in(client, member(books, Right.MANAGE))

    methods = text_of(client.get(url("methods", books.commercial)))

    assert url("add_card", books.commercial) in methods
    assert url("remove_method", books.commercial, books.spare.pk) in methods
    assert "Make default" not in methods


def test_manage_opens_the_card_page_with_the_gateways_script(client, books, stripe_api):
    signed_in(client, member(books, Right.MANAGE))

    response = client.get(url("add_card", books.small))

    page = text_of(response)
    assert response.status_code == 200
    assert f'<script src="{stripe_api}/js.stripe.com/v3/">' in page
    assert re.search(r'data-client-secret="seti_\w+_secret_\w+"', page)
    assert "Entering a card needs JavaScript" in page  # the <noscript> note
    assert stripe_api in response["Content-Security-Policy"]


def _setup_id_of(page: str) -> str:
    found = re.search(r'data-client-secret="(seti_\w+?)_secret_', page)
    assert found, "no card setup on the page"
    return found.group(1)


def test_manage_saves_a_card_completed_in_the_browser(client, books, stripe_api):
    manager = member(books, Right.MANAGE)
    signed_in(client, manager)
    setup_id = _setup_id_of(text_of(client.get(url("add_card", books.small))))
    browser_setup(stripe_api, setup_id, GOOD_CARD, exp_year=2032, name="Ana Roy")

    response = client.post(url("add_card", books.small), {"setup_id": setup_id})

    assert response.status_code == 302
    assert response["Location"] == url("methods", books.small)
    card = PaymentMethod.objects.get(account=books.small)
    assert (card.brand, card.last4, card.expiry, card.holder_name) == (
        "visa",
        "4242",
        "12/2032",
        "Ana Roy",
    )
    assert card.is_default  # the account's first card
    assert card.added_by == manager
    assert card.gateway_id.startswith("pm_")
    assert messages_of(response) == ["The card Visa ending in 4242 was saved."]


@pytest.mark.parametrize("setup_id", ["pm_123", "seti_", "seti_abc def", "", "<script>"])
def test_a_setup_id_that_is_not_a_setup_is_refused_and_nothing_saved(
    client, books, stripe_api, setup_id
):
    signed_in(client, member(books, Right.MANAGE))

    response = client.post(url("add_card", books.small), {"setup_id": setup_id})

    assert response.status_code == 200  # the card page again, with a new setup
    assert messages_of(response) == ["The card entry was not completed."]
    assert not PaymentMethod.objects.filter(account=books.small).exists()


def test_manage_cannot_make_a_card_the_default(client, books):
    signed_in(client, member(books, Right.MANAGE))
    before = state()

    response = write(client, "make-default", books)

    assert response.status_code == 404
    assert state() == before


def test_manage_removing_a_card_prepares_a_request_and_changes_nothing_else(client, books):
    manager = member(books, Right.MANAGE)
    signed_in(client, manager)
    confirm = text_of(write(client, "remove-page", books))
    assert "confirming sends this request to the account's validators" in confirm

    response = write(client, "remove", books)

    assert response.status_code == 302
    request = ValidationRequest.objects.get()
    assert (request.kind, request.account, request.prepared_by) == (
        actions.REMOVE_METHOD,
        books.commercial,
        manager,
    )
    assert request.payload["method"] == books.card.pk
    books.card.refresh_from_db()
    assert books.card.status == PaymentMethod.Status.ACTIVE and books.card.is_default
    assert messages_of(response) == [
        "Your request to remove Visa ending in 4242 was sent to the account's validators."
    ]


def test_manage_paying_prepares_a_request_and_changes_nothing_else(client, books):
    manager = member(books, Right.MANAGE)
    signed_in(client, manager)
    page = text_of(write(client, "pay-page", books))
    assert "Send for validation" in page

    response = client.post(
        url("pay", books.commercial, books.invoice.pk), pay_data(books.spare, "0" * 32)
    )

    assert response.status_code == 302
    request = ValidationRequest.objects.get()
    assert (request.kind, request.prepared_by) == (actions.PAY_INVOICE, manager)
    assert request.payload["invoice"] == books.invoice.pk
    assert request.payload["method"] == books.spare.pk
    assert request.payload["balance"] == "1234.56"
    books.invoice.refresh_from_db()
    assert books.invoice.status == Invoice.Status.OPEN
    assert books.invoice.amount_paid == 0
    assert not Payment.objects.exists()
    assert messages_of(response) == [
        "Your request to pay invoice 2026-000101 was sent to the account's validators."
    ]


# --- VALIDATE -------------------------------------------------------------------------------------


def test_validate_is_offered_make_default_and_pay(client, books):
    signed_in(client, member(books, Right.VALIDATE))

    methods = text_of(client.get(url("methods", books.commercial)))
    invoice = text_of(client.get(url("invoice", books.commercial, books.invoice.pk)))

    assert url("make_default", books.commercial, books.spare.pk) in methods
    assert url("make_default", books.commercial, books.card.pk) not in methods  # already it
    assert url("pay", books.commercial, books.invoice.pk) in invoice


def test_validate_makes_another_card_the_default(client, books):
    signed_in(client, member(books, Right.VALIDATE))

    response = write(client, "make-default", books)

    assert response.status_code == 302
    assert response["Location"] == url("methods", books.commercial)
    defaults = PaymentMethod.objects.filter(account=books.commercial, is_default=True)
    assert list(defaults) == [books.spare]
    assert messages_of(response) == ["Mastercard ending in 4444 is now the default."]


def test_validate_removes_a_card_at_the_gateway(client, books, stripe_api):
    validator = member(books, Right.VALIDATE)
    signed_in(client, validator)
    card = saved_card(validator, books.small, stripe_api)

    response = client.post(url("remove_method", books.small, card.pk))

    assert response.status_code == 302
    card.refresh_from_db()
    assert card.status == PaymentMethod.Status.REMOVED and not card.is_default
    assert not ValidationRequest.objects.exists()
    assert messages_of(response) == ["Visa ending in 4242 was removed."]


def test_validate_pays_an_invoice_with_a_saved_card(client, books, stripe_api):
    validator = member(books, Right.VALIDATE)
    signed_in(client, validator)
    card = saved_card(validator, books.commercial, stripe_api)
    page = text_of(write(client, "pay-page", books))
    assert "Pay $1,234.56" in page

    response = client.post(url("pay", books.commercial, books.invoice.pk), pay_data(card))

    assert response.status_code == 302
    assert response["Location"] == url("invoice", books.commercial, books.invoice.pk)
    books.invoice.refresh_from_db()
    assert books.invoice.status == Invoice.Status.PAID
    assert books.invoice.amount_paid == Decimal("1234.56")
    payment = Payment.objects.get()
    assert (payment.status, payment.payment_method, payment.amount) == (
        Payment.Status.SUCCEEDED,
        card,
        Decimal("1234.56"),
    )
    assert payment.gateway_payment_id.startswith("pi_")
    assert messages_of(response) == [
        "Invoice 2026-000101 is paid. A receipt is on its way by e-mail."
    ]


def test_the_same_pay_form_posted_twice_pays_once(client, books, stripe_api):
    validator = member(books, Right.VALIDATE)
    signed_in(client, validator)
    card = saved_card(validator, books.commercial, stripe_api)
    form = pay_data(card)
    pay = url("pay", books.commercial, books.invoice.pk)

    first = client.post(pay, form)
    second = client.post(pay, form)

    assert first.status_code == second.status_code == 302
    assert Payment.objects.filter(status=Payment.Status.SUCCEEDED).count() == 1
    assert Payment.objects.count() == 1
    assert messages_of(second)[-1] == "This invoice has nothing left to pay."


def test_paying_with_a_card_of_another_account_is_refused(client, books, theirs):
    signed_in(client, member(books, Right.VALIDATE))
    before = state()

    response = client.post(url("pay", books.commercial, books.invoice.pk), pay_data(theirs.card))

    assert response.status_code == 200
    assert "Choose one of the cards shown." in text_of(response)
    assert state() == before


def test_a_card_of_the_same_business_but_another_account_is_refused_too(client, books):
    validator = member(books, Right.VALIDATE)
    signed_in(client, validator)
    elsewhere = CardFactory.create(account=books.small, is_default=True)
    before = state()

    response = client.post(url("pay", books.commercial, books.invoice.pk), pay_data(elsewhere))

    assert "Choose one of the cards shown." in text_of(response)
    assert state() == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_paying_a_paid_invoice_says_nothing_is_left_to_pay(client, books, method):
    signed_in(client, member(books, Right.VALIDATE))
    before = state()

    response = getattr(client, method)(
        url("pay", books.commercial, books.paid.pk), pay_data(books.card)
    )

    assert response.status_code == 302
    assert response["Location"] == url("invoice", books.commercial, books.paid.pk)
    assert messages_of(response) == ["This invoice has nothing left to pay."]
    assert state() == before


def test_a_void_invoice_has_nothing_to_pay_either(client, books):
    signed_in(client, member(books, Right.VALIDATE))
    Invoice.objects.filter(pk=books.invoice.pk).update(status=Invoice.Status.VOID)

    response = client.post(url("pay", books.commercial, books.invoice.pk), pay_data(books.card))

    assert messages_of(response) == ["This invoice has nothing left to pay."]
    assert not Payment.objects.exists()


# --- who else: contract-only users, other businesses, anonymous visitors, forged posts ------------


@pytest.mark.parametrize("page", list(READS))
def test_a_contract_only_user_gets_404_on_every_billing_page(client, books, page):
    signed_in(client, contract_only(books))

    assert client.get(READS[page](books)).status_code == 404


@pytest.mark.parametrize("action", list(WRITES))
def test_a_contract_only_user_gets_404_on_every_billing_action(client, books, action):
    signed_in(client, contract_only(books))
    before = state()

    assert write(client, action, books).status_code == 404
    assert state() == before


@pytest.mark.parametrize("page", [*READS, *WRITES])
def test_another_business_account_is_404(client, books, theirs, page):
    signed_in(client, member(books, Right.VALIDATE))
    before = state()

    response = visit(client, page, theirs)

    assert response.status_code == 404
    assert state() == before


@pytest.mark.parametrize("name", ["invoice", "invoice_pdf", "invoice_csv", "pay"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_invoice_of_another_business_is_404_under_ones_own_account(
    client, books, theirs, name, method
):
    signed_in(client, member(books, Right.VALIDATE))
    before = state()

    response = getattr(client, method)(
        url(name, books.commercial, theirs.invoice.pk), pay_data(books.card)
    )

    # The read-only pages allow GET only (405 for a POST); the invoice is never found.
    assert response.status_code == (404 if method == "get" or name == "pay" else 405)
    assert state() == before


@pytest.mark.parametrize("name", ["statement", "statement_pdf", "statement_csv"])
def test_a_statement_of_another_business_is_404_under_ones_own_account(client, books, theirs, name):
    signed_in(client, member(books, Right.VALIDATE))

    assert client.get(url(name, books.small, theirs.statement.pk)).status_code == 404


@pytest.mark.parametrize("method", ["get", "post"])
def test_removing_a_card_of_another_business_is_404(client, books, theirs, method):
    signed_in(client, member(books, Right.VALIDATE))
    before = state()

    response = getattr(client, method)(url("remove_method", books.commercial, theirs.card.pk))

    assert response.status_code == 404
    assert state() == before


def test_making_a_card_of_another_business_the_default_is_404(client, books, theirs):
    signed_in(client, member(books, Right.VALIDATE))
    before = state()

    response = client.post(url("make_default", books.commercial, theirs.spare.pk))

    # The same answer as for a card that does not exist: never a 403 that would say it exists.
    assert response.status_code == 404
    assert state() == before


@pytest.mark.parametrize("page", ["pay", "remove"])
def test_paying_or_removing_asks_for_a_fresh_second_factor(client, books, monkeypatch, page):
    """Without two-factor on, the person is sent to set it up; nothing is paid or removed."""
    monkeypatch.setattr("portal.second_factor.is_mfa_enabled", lambda user: False)
    signed_in(client, member(books, Right.VALIDATE))
    before = state()

    response = write(client, page, books)

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_index")
    assert state() == before


@pytest.mark.parametrize("page", [*READS, *WRITES])
def test_an_anonymous_visitor_is_sent_to_sign_in(client, books, page):
    before = state()

    response = visit(client, page, books)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login") + "?next=/business/")
    assert state() == before


@pytest.mark.parametrize("action", ["add-card", "make-default", "remove", "pay"])
def test_a_post_without_the_csrf_token_is_refused(books, action):
    client = signed_in(Client(enforce_csrf_checks=True), member(books, Right.VALIDATE))
    before = state()

    response = write(client, action, books)

    assert response.status_code == 403
    assert state() == before


# --- the PDF and the CSV --------------------------------------------------------------------------


def pdf_text(response: HttpResponse) -> str:
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return " ".join(text.replace("\xa0", " ").replace("\u202f", " ").split())


def test_the_invoice_pdf_reads_back_with_its_number_lines_and_total(client, books):
    signed_in(client, member(books, Right.CONSULT))

    response = client.get(url("invoice_pdf", books.commercial, books.invoice.pk))

    assert response["Content-Type"] == "application/pdf"
    assert 'filename="invoice-2026-000101.pdf"' in response["Content-Disposition"]
    text = pdf_text(response)
    assert "2026-000101" in text
    assert "Boréal Distribution Ltée" in text
    assert "Return labels, September" in text
    assert "$1,234.56" in text
    assert "$142.03" in text


def test_the_invoice_pdf_writes_money_the_french_way_in_french(client, books):
    signed_in(client, member(books, Right.CONSULT))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"

    text = pdf_text(client.get(url("invoice_pdf", books.commercial, books.invoice.pk)))

    assert "2026-000101" in text
    assert "1 234,56 $" in text
    assert "142,03 $" in text
    assert "$1,234.56" not in text


def test_the_statement_pdf_reads_back_with_its_total(client, books):
    signed_in(client, member(books, Right.CONSULT))

    response = client.get(url("statement_pdf", books.small, books.statement.pk))

    text = pdf_text(response)
    assert books.small.customer_number in response["Content-Disposition"]
    assert books.small.legal_name in text
    assert "$22.60" in text


def test_a_pdf_with_many_charges_sums_them_by_kind_and_points_to_the_csv(client, books):
    """Past the detail limit the PDF is a short summary (seconds of layout saved per thousand
    labels); every charge stays one line of the CSV."""
    many = exports.PDF_DETAIL_LIMIT + 1
    ChargeFactory.create_batch(
        many, account=books.commercial, invoice=books.invoice, kind=Charge.Kind.RETURN_LABEL
    )
    ChargeFactory.create(
        account=books.commercial,
        invoice=books.invoice,
        kind=Charge.Kind.SERVICE,
        amount=Decimal("5.00"),
        hst=Decimal("0.65"),
        total=Decimal("5.65"),
    )
    signed_in(client, member(books, Right.CONSULT))

    text = pdf_text(client.get(url("invoice_pdf", books.commercial, books.invoice.pk)))

    # 51 labels at $10.00 + $1.30 HST; the services: the fixture's 84 shipments and this one
    total = many + 2
    assert f"Return labels {many} $510.00 HST $66.30 $576.30" in text
    assert "Other services 85 $1,097.53 HST $142.68 $1,240.21" in text
    assert f"The detail of these {total} charges, one per line, is in the CSV file" in text
    assert "test:" not in text  # no line per charge
    rows = csv_rows(client.get(url("invoice_csv", books.commercial, books.invoice.pk)))
    assert len(rows) == 1 + total


def test_a_pdf_with_few_charges_lists_each_one_under_its_summary(client, books):
    ChargeFactory.create(
        account=books.commercial,
        invoice=books.invoice,
        kind=Charge.Kind.RETURN_LABEL,
        source_reference="label:CA123456785CA",
    )
    signed_in(client, member(books, Right.CONSULT))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"

    text = pdf_text(client.get(url("invoice_pdf", books.commercial, books.invoice.pk)))

    assert "Résumé par type" in text
    assert "Étiquettes de retour 1 10,00 $" in text
    assert "label:CA123456785CA" in text
    assert "CSV" not in text


def test_a_label_charge_is_named_in_the_readers_language_and_a_service_as_written(client, books):
    """The books keep a label charge's description in English; French readers see it in French
    on the page, in the PDF and in the CSV."""
    ChargeFactory.create(
        account=books.commercial,
        invoice=books.invoice,
        kind=Charge.Kind.RETURN_LABEL,
        description="Return label CA123456785CA",
        source_reference="label:CA123456785CA",
    )
    signed_in(client, member(books, Right.CONSULT))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"

    page = client.get(url("invoice", books.commercial, books.invoice.pk)).content.decode()
    text = pdf_text(client.get(url("invoice_pdf", books.commercial, books.invoice.pk)))
    rows = csv_rows(client.get(url("invoice_csv", books.commercial, books.invoice.pk)))

    for shown in (page, text, "\n".join(",".join(row) for row in rows)):
        assert "Étiquette de retour CA123456785CA" in shown
        assert "Return label CA123456785CA" not in shown
        assert "Return labels, September" in shown  # a service: as staff wrote it
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(url("invoice", books.commercial, books.invoice.pk)).content.decode()
    assert "Return label CA123456785CA" in english


def csv_rows(response: HttpResponse) -> list[list[str]]:
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")  # Excel reads the accents right
    return list(csv.reader(io.StringIO(body[1:])))


ENGLISH_HEADER = [
    "Date",
    "Description",
    "Reference",
    "Shipments",
    "Amount before tax",
    "GST",
    "HST",
    "PST",
    "QST",
    "Total",
]


def test_the_invoice_csv_parses_into_its_lines(client, books):
    signed_in(client, member(books, Right.CONSULT))

    response = client.get(url("invoice_csv", books.commercial, books.invoice.pk))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    header, *lines = csv_rows(response)
    assert header == ENGLISH_HEADER
    assert lines == [
        [
            "2026-09-15",
            "Return labels, September",
            "label:CA100200300",
            "84",
            "1092.53",
            "0.00",
            "142.03",
            "0.00",
            "0.00",
            "1234.56",
        ]
    ]


def test_the_statement_csv_lines_are_its_charges_and_add_up_to_its_total(client, books):
    signed_in(client, member(books, Right.CONSULT))

    response = client.get(url("statement_csv", books.small, books.statement.pk))

    header, *lines = csv_rows(response)
    assert header == ENGLISH_HEADER
    charges = books.statement.charges.order_by("charged_at", "pk")
    assert [(line[2], Decimal(line[-1])) for line in lines] == [
        (charge.source_reference, charge.total) for charge in charges
    ]
    assert sum(Decimal(line[-1]) for line in lines) == books.statement.total


@pytest.mark.parametrize(("language", "refunded"), [("en", "(refunded)"), ("fr", "(remboursé)")])
def test_a_charge_refunded_after_its_statement_says_so_on_its_line(
    client, books, language, refunded
):
    """The statement stays as issued (it was paid then); its line tells of the refund, on
    screen and in the CSV."""
    signed_in(client, member(books, Right.CONSULT))
    charge = books.statement.charges.order_by("pk").first()
    Charge.objects.filter(pk=charge.pk).update(status=Charge.Status.REFUNDED)

    page = client.get(
        url("statement", books.small, books.statement.pk), HTTP_ACCEPT_LANGUAGE=language
    )
    rows = csv_rows(
        client.get(
            url("statement_csv", books.small, books.statement.pk), HTTP_ACCEPT_LANGUAGE=language
        )
    )

    assert page.content.decode().count(refunded) == 1
    assert [line[1].endswith(refunded) for line in rows[1:]].count(True) == 1


def test_a_description_that_looks_like_a_formula_is_written_as_text(client, books):
    signed_in(client, member(books, Right.CONSULT))
    Charge.objects.filter(invoice=books.invoice).update(
        description='=HYPERLINK("http://evil.example","Refund")', source_reference="@SUM(A1)"
    )

    [_header, line] = csv_rows(client.get(url("invoice_csv", books.commercial, books.invoice.pk)))

    assert line[1] == '\'=HYPERLINK("http://evil.example","Refund")'
    assert line[2] == "'@SUM(A1)"


def test_the_csv_header_is_in_the_readers_language(client, books):
    signed_in(client, member(books, Right.CONSULT))

    response = client.get(
        url("statement_csv", books.small, books.statement.pk), HTTP_ACCEPT_LANGUAGE="fr"
    )

    header, *lines = csv_rows(response)
    with translation.override("fr"):
        french = [gettext(words) for words in ENGLISH_HEADER]
    assert header == french
    assert header != ENGLISH_HEADER, "the billing words have no French translation yet"
    assert len(lines) == 2


# --- the maintenance gate -------------------------------------------------------------------------


@pytest.fixture
def window(django_capture_on_commit_callbacks: Any) -> Callable[..., Interruption]:
    """Open a window closing `feature` now (staff's save tells the gate after commit)."""

    def open_window(feature: Feature, scope: str) -> Interruption:
        with django_capture_on_commit_callbacks(execute=True):
            return closing(feature, scope=scope)

    return open_window


def assert_closed(response: HttpResponse, interruption: Interruption) -> None:
    assert response.status_code == 503
    remaining = (interruption.ends_at - timezone.now()).total_seconds()
    assert remaining - 5 <= int(response["Retry-After"]) <= remaining + 1


@pytest.mark.parametrize("scope", [Interruption.Scope.ALL, Interruption.Scope.WRITES])
def test_during_an_online_payment_window_the_invoice_shows_a_disabled_pay_button(
    client, books, window, scope
):
    signed_in(client, member(books, Right.VALIDATE))
    window(Feature.ONLINE_PAYMENT, scope)

    response = client.get(url("invoice", books.commercial, books.invoice.pk))

    page = text_of(response)
    assert response.status_code == 200
    assert re.search(
        r'<button type="button" class="btn btn-primary" disabled aria-describedby="payment-down">'
        r"Pay this invoice</button>",
        page,
    )
    assert url("pay", books.commercial, books.invoice.pk) not in page
    assert 'id="payment-down"' in page
    assert "Online payment is unavailable for maintenance" in page
    assert "You can still view and download your invoices." in page
    assert client.get(url("invoice_pdf", books.commercial, books.invoice.pk)).status_code == 200
    assert client.get(url("invoice_csv", books.commercial, books.invoice.pk)).status_code == 200


@pytest.mark.parametrize("scope", [Interruption.Scope.ALL, Interruption.Scope.WRITES])
def test_during_an_online_payment_window_paying_answers_503(
    client, books, window, stripe_api, scope
):
    validator = member(books, Right.VALIDATE)
    signed_in(client, validator)
    card = saved_card(validator, books.commercial, stripe_api)
    interruption = window(Feature.ONLINE_PAYMENT, scope)
    before = state()

    response = client.post(url("pay", books.commercial, books.invoice.pk), pay_data(card))

    assert_closed(response, interruption)
    assert state() == before


def test_a_full_online_payment_window_closes_the_pay_page_too(client, books, window):
    signed_in(client, member(books, Right.VALIDATE))
    interruption = window(Feature.ONLINE_PAYMENT, Interruption.Scope.ALL)

    assert_closed(client.get(url("pay", books.commercial, books.invoice.pk)), interruption)


def test_a_read_only_online_payment_window_closes_the_pay_page_too(client, books, window):
    """The page exists only to pay: it is closed for writing even on GET, with its reason."""
    signed_in(client, member(books, Right.VALIDATE))
    window(Feature.ONLINE_PAYMENT, Interruption.Scope.WRITES)

    response = client.get(url("pay", books.commercial, books.invoice.pk))

    assert response.status_code == 503
    assert "Retry-After" in response


def test_a_full_invoices_window_closes_the_pay_page(client, books, window):
    signed_in(client, member(books, Right.VALIDATE))
    window(Feature.INVOICES, Interruption.Scope.ALL)

    assert client.get(url("pay", books.commercial, books.invoice.pk)).status_code == 503


INVOICE_PAGES = [
    "overview",
    "small-overview",
    "invoices",
    "invoice",
    "invoice-pdf",
    "invoice-csv",
    "statements",
    "statement",
    "statement-pdf",
    "statement-csv",
]


@pytest.mark.parametrize("page", INVOICE_PAGES)
def test_a_read_only_invoices_window_leaves_the_pages_readable(client, books, window, page):
    signed_in(client, member(books, Right.CONSULT))
    window(Feature.INVOICES, Interruption.Scope.WRITES)

    assert client.get(READS[page](books)).status_code == 200


@pytest.mark.parametrize("page", INVOICE_PAGES)
def test_a_full_invoices_window_closes_the_pages(client, books, window, page):
    signed_in(client, member(books, Right.CONSULT))
    interruption = window(Feature.INVOICES, Interruption.Scope.ALL)

    response = client.get(READS[page](books))

    assert_closed(response, interruption)
    assert "Temporarily unavailable for maintenance" in text_of(response)


def test_a_full_invoices_window_leaves_the_payment_methods_open(client, books, window):
    signed_in(client, member(books, Right.CONSULT))
    window(Feature.INVOICES, Interruption.Scope.ALL)

    assert client.get(url("methods", books.commercial)).status_code == 200


def test_a_payment_methods_window_hides_the_card_buttons_and_closes_adding(client, books, window):
    signed_in(client, member(books, Right.VALIDATE))
    interruption = window(Feature.PAYMENT_METHODS, Interruption.Scope.WRITES)

    methods = text_of(client.get(url("methods", books.commercial)))

    assert "Changing payment methods is unavailable for maintenance" in methods
    assert url("add_card", books.commercial) not in methods
    assert "Make default" not in methods
    assert_closed(client.get(url("add_card", books.commercial)), interruption)
    assert_closed(write(client, "make-default", books), interruption)
