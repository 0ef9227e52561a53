"""Billing's e-mails as each contact reads them: queued by the services' helper with the facts the
services put in, sent by the outbox, in English and in French, money and dates written the
reader's way, with the links to the billing pages."""

from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from accounts.models import BusinessAccount, Contact
from billing.messages import Kind
from billing.services.messages import tell_billing_contacts
from portal.models import Delivery
from portal.outbox import sending
from tests.accounts.factories import BusinessAccountFactory, ContactFactory
from tests.billing.factories import InvoiceFactory, StatementFactory

pytestmark = pytest.mark.django_db

BASE = "http://testserver"
NBSP = "\u00a0"
AMOUNT = {"en": "$1,234.56", "fr": f"1{NBSP}234,56{NBSP}$"}


@pytest.fixture(autouse=True)
def _base_url(settings: Any) -> None:
    settings.PORTAL_BASE_URL = BASE


@pytest.fixture
def account() -> BusinessAccount:
    """A commercial account whose billing contacts read English and French."""
    account = BusinessAccountFactory.create(legal_name="Maple Leaf Outfitters Inc.")
    ContactFactory.create(account=account, role=Contact.Role.PRIMARY, email="boss@x.example")
    ContactFactory.create(
        account=account, role=Contact.Role.BILLING, name="Owen Fraser", email="owen@x.example"
    )
    ContactFactory.create(
        account=account,
        role=Contact.Role.BILLING,
        name="Claire Tremblay",
        email="claire@x.example",
        language="fr",
    )
    return account


def sent(kind: Kind, account: BusinessAccount, **facts: Any) -> dict[str, EmailMultiAlternatives]:
    """Queue `kind` for the account's billing contacts, send every row; the mails by language."""
    assert tell_billing_contacts(kind=kind, account=account, about="test", **facts) == 2
    mails: dict[str, EmailMultiAlternatives] = {}
    for delivery in Delivery.objects.filter(kind=kind):
        assert sending.send(delivery.pk), Delivery.objects.get(pk=delivery.pk).last_error
        delivery.refresh_from_db()
        assert delivery.status == Delivery.Status.SENT
    for message in mail.outbox:
        assert isinstance(message, EmailMultiAlternatives)
        language = "fr" if message.to == ["claire@x.example"] else "en"
        mails[language] = message
    assert set(mails) == {"en", "fr"}
    return mails


def html(message: EmailMultiAlternatives) -> str:
    content, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    return str(content)


def every_part(message: EmailMultiAlternatives) -> list[str]:
    return [str(message.subject), str(message.body), html(message)]


def assert_greets_and_names_the_account(mails: dict[str, EmailMultiAlternatives]) -> None:
    for language, greeting in (("en", "Hello Owen Fraser,"), ("fr", "Bonjour Claire Tremblay,")):
        message = mails[language]
        assert "Maple Leaf Outfitters Inc." in message.subject
        assert greeting in message.body and greeting in html(message)
        assert "1 800 267-7651" in message.body  # the billing phone, from settings


def test_invoice_issued_gives_the_total_the_due_date_and_the_invoice_link(account):
    invoice = InvoiceFactory.create(account=account, number="2026-000042")
    mails = sent(
        Kind.INVOICE_ISSUED,
        account,
        invoice=invoice.pk,
        number="2026-000042",
        total="1234.56",
        due_on="2026-06-01",
    )

    assert_greets_and_names_the_account(mails)
    link = f"{BASE}/business/{account.pk}/billing/invoices/{invoice.pk}/"
    for language, due in (("en", "June 1, 2026"), ("fr", "1er juin 2026")):
        message = mails[language]
        assert "2026-000042" in message.subject
        for part in (message.body, html(message)):
            assert AMOUNT[language] in part and due in part and link in part
    assert f'href="{link}"' in html(mails["en"])
    assert "Invoice 2026-000042 of the business account" in mails["en"].body
    assert "is ready" in mails["en"].subject


def test_invoice_overdue_gives_the_balance_still_owed(account):
    invoice = InvoiceFactory.create(account=account, number="2026-000007")
    mails = sent(
        Kind.INVOICE_OVERDUE,
        account,
        invoice=invoice.pk,
        number="2026-000007",
        balance="1234.56",
        due_on="2026-04-30",
    )

    assert_greets_and_names_the_account(mails)
    link = f"{BASE}/business/{account.pk}/billing/invoices/{invoice.pk}/"
    for language, due in (("en", "April 30, 2026"), ("fr", "30 avril 2026")):
        for part in every_part(mails[language])[1:]:
            assert AMOUNT[language] in part and due in part and link in part
    assert "overdue" in mails["en"].subject and "is still unpaid" in mails["en"].body


def test_invoice_paid_gives_the_amount_received(account):
    invoice = InvoiceFactory.create(account=account, number="2026-000009")
    mails = sent(
        Kind.INVOICE_PAID,
        account,
        invoice=invoice.pk,
        number="2026-000009",
        amount="1234.56",
        method="Cheque",
    )

    assert_greets_and_names_the_account(mails)
    link = f"{BASE}/business/{account.pk}/billing/invoices/{invoice.pk}/"
    for language in ("en", "fr"):
        for part in every_part(mails[language])[1:]:
            assert AMOUNT[language] in part and link in part
    assert "We received $1,234.56 for invoice 2026-000009" in mails["en"].body
    assert "is paid" in mails["en"].subject


def test_statement_ready_names_the_month_and_links_the_statement(account):
    statement = StatementFactory.create(account=account)
    mails = sent(
        Kind.STATEMENT_READY,
        account,
        statement=statement.pk,
        month="2026-03-01",
        total="1234.56",
    )

    assert_greets_and_names_the_account(mails)
    link = f"{BASE}/business/{account.pk}/billing/statements/{statement.pk}/"
    for language, month in (("en", "March 2026"), ("fr", "mars 2026")):
        message = mails[language]
        assert month in message.subject
        for part in (message.body, html(message)):
            assert AMOUNT[language] in part and month in part and link in part
        assert "March 1" not in message.body and "1er mars" not in message.body


@pytest.mark.parametrize("kind", [Kind.CARD_EXPIRING, Kind.CARD_EXPIRED])
def test_card_e_mails_list_what_will_stop_working(account, kind):
    facts: dict[str, Any] = {
        "method": "Visa ending in 4242",
        "dependents": ["Return policy “Boutique” (RP-12)", "Return policy “Outlet” (RP-13)"],
    }
    if kind == Kind.CARD_EXPIRING:
        facts["expires_on"] = "2026-12-31"
    mails = sent(kind, account, **facts)

    assert_greets_and_names_the_account(mails)
    billing = f"{BASE}/business/{account.pk}/billing/"
    for language in ("en", "fr"):
        message = mails[language]
        for part in (message.body, html(message)):
            assert "Visa ending in 4242" in part and billing in part
        assert "- Return policy “Boutique” (RP-12)\n- Return policy “Outlet” (RP-13)" in (
            message.body
        )
        assert "<li>Return policy “Boutique” (RP-12)</li>" in html(message)
    assert "These will stop working" in mails["en"].body
    if kind == Kind.CARD_EXPIRING:
        assert "December 31, 2026" in mails["en"].body
        assert "31 décembre 2026" in mails["fr"].body


def test_an_expired_card_that_nothing_relied_on_lists_nothing(account):
    mails = sent(Kind.CARD_EXPIRED, account, method="Visa ending in 4242", dependents=[])

    assert "has expired" in mails["en"].body
    assert "These will stop working" not in mails["en"].body
    assert "<ul>" not in html(mails["en"]) and "<ul>" not in html(mails["fr"])


def test_method_removed_says_who_removed_which_method(account):
    mails = sent(Kind.METHOD_REMOVED, account, method="Visa ending in 4242", by="Dana Morel")

    assert_greets_and_names_the_account(mails)
    assert "Dana Morel removed the payment method Visa ending in 4242" in mails["en"].body
    for message in mails.values():
        assert "Dana Morel" in message.body and "Visa ending in 4242" in html(message)
        assert f"{BASE}/business/{account.pk}/billing/" in message.body


def test_upgrade_review_says_a_sales_representative_will_call(account):
    mails = sent(Kind.UPGRADE_REVIEW, account)

    assert_greets_and_names_the_account(mails)
    english = mails["en"]
    assert "A sales representative will contact you" in english.body
    assert "a sales representative will contact you" in english.subject
    for message in mails.values():
        assert f"{BASE}/business/{account.pk}/billing/" in html(message)


def test_conversion_to_commercial_with_terms_and_open_invoices(account):
    mails = sent(
        Kind.ACCOUNT_CONVERTED, account, kind_now="COMMERCIAL", terms_days=15, open_invoices=2
    )

    assert_greets_and_names_the_account(mails)
    english = mails["en"]
    assert "is now a commercial account" in english.subject
    assert "payable within 15 days" in english.body
    assert "2 invoices are still open" in english.body
    for message in mails.values():
        assert "15" in message.body and f"{BASE}/business/{account.pk}/billing/" in message.body


def test_conversion_to_commercial_without_terms_keeps_paying_when_ordering(account):
    mails = sent(
        Kind.ACCOUNT_CONVERTED, account, kind_now="COMMERCIAL", terms_days=None, open_invoices=0
    )

    english = mails["en"].body
    assert "You keep paying when you order" in english
    assert "payable within" not in english and "still open" not in english


def test_conversion_to_small_business_explains_the_faq(account):
    mails = sent(
        Kind.ACCOUNT_CONVERTED,
        account,
        kind_now="SMALL_BUSINESS",
        terms_days=None,
        open_invoices=1,
    )

    english = mails["en"]
    assert "is now a small business account" in english.subject
    assert "not eligible for bill-to-account" in english.body
    assert "1 invoice is still open: it stays payable" in english.body
    assert "not eligible for bill-to-account" in html(english)
