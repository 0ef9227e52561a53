"""Billing in Chromium, with localstripe as the payment gateway (its Stripe.js stand-in draws the
card fields, and the portal's adapter talks to its API).

(a) A small business's validator opens Billing > Payment methods > Add a card, tries Stripe's
    declined test card (refused in the page, nothing saved), then a good one, and sees it listed
    as the default; a charge is then recorded and the month's statement issued, and the user sees
    the charge on the statement page.
(b) A commercial account's validator downloads an open invoice's PDF and pays it with the card
    saved for the account.
(c) During an online-payment maintenance window, the invoice's Pay button is disabled and says
    why.

No page breaks the Content Security Policy or writes an error to the console. Every billing page
is also photographed at 1280 and 390 px wide, in English and in French, into /tmp/billing-shots/
for a person to look at.
"""

import datetime
import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from accounts.models import BusinessAccount, Contact, User
from accounts.rights import Right
from billing import periods, services
from billing.models import Charge, Invoice, Payment, PaymentMethod, Statement
from outages.features import Feature
from tests.accounts.delegation_factories import with_totp
from tests.accounts.factories import BusinessAccountFactory, ContactFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.billing import conftest as billing_fixtures
from tests.billing.conftest import DECLINED_CARD, GOOD_CARD, browser_setup
from tests.billing.factories import BillingProfileFactory, ChargeFactory, InvoiceFactory
from tests.conftest import totp_code
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.outages.factories import closing

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path("/tmp/billing-shots")  # noqa: S108 - screenshots for a person to look at
# Billing's localstripe fixtures, for the live server too.
localstripe_base = billing_fixtures.localstripe_base
stripe_api = billing_fixtures.stripe_api
# localstripe's Stripe.js stand-in declares a global `class Element`, which shadows the DOM's
# Element for every script of the card page: Bootstrap's selector engine then fails there
# (Element.prototype.querySelectorAll is undefined). Real Stripe.js does not; only the card page,
# and only with localstripe, meets it.
LOCALSTRIPE_SHADOWS_ELEMENT = "pageerror: Cannot read properties of undefined (reading 'call')"
WIDTHS = {"wide": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


# --- the accounts -------------------------------------------------------------------------------


@pytest.fixture
def small() -> BusinessAccount:
    account = BusinessAccountFactory.create(
        legal_name="Boulangerie Saint-Roch", kind=BusinessAccount.Kind.SMALL_BUSINESS
    )
    ContactFactory.create(account=account, role=Contact.Role.PRIMARY, email="owner@roch.example")
    return account


@pytest.fixture
def commercial() -> BusinessAccount:
    account = BusinessAccountFactory.create(legal_name="Maple Leaf Outfitters Inc.")
    ContractFactory.create(account=account)
    BillingProfileFactory.create(account=account, terms_days=30)
    ContactFactory.create(account=account, role=Contact.Role.BILLING, email="ap@maple.example")
    return account


def validator_of(*accounts: BusinessAccount, email: str) -> User:
    user = UserFactory.create(email=email, first_name="Ana", last_name="Roy")
    for account in accounts:
        AccountLinkFactory.create(account=account, user=user, right=Right.VALIDATE)
    return user


def open_invoice(account: BusinessAccount) -> Invoice:
    invoice = InvoiceFactory.create(
        account=account,
        number="2026-000042",
        period_start=datetime.date(2026, 10, 1),
        period_end=datetime.date(2026, 10, 31),
        amount=Decimal("1092.53"),
        hst=Decimal("142.03"),
        total=Decimal("1234.56"),
        issued_on=datetime.date(2026, 11, 1),
        due_on=datetime.date(2026, 12, 1),
    )
    ChargeFactory.create(
        account=account,
        invoice=invoice,
        status=Charge.Status.INVOICED,
        description="Return labels, October",
        amount=Decimal("1092.53"),
        hst=Decimal("142.03"),
        total=Decimal("1234.56"),
        charged_at=datetime.datetime(2026, 10, 20, 15, 0, tzinfo=datetime.UTC),
    )
    return invoice


def saved_card(actor: User, account: BusinessAccount, base: str) -> PaymentMethod:
    """A card saved through localstripe, as the card page and Stripe.js would."""
    setup = services.start_card_setup(actor=actor, account=account)
    browser_setup(base, setup.setup_id, GOOD_CARD)
    return services.save_card(actor=actor, account=account, setup_id=setup.setup_id, ip=None)


# --- the browser --------------------------------------------------------------------------------


def _sign_in(page: Page, base: str, email: str, *, totp_secret: str = "") -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    if totp_secret:
        page.fill("#id_code", totp_code(totp_secret))
        page.locator("main form button[type=submit]").first.click()
    expect(page.get_by_role("heading", name="My business accounts")).to_be_visible()


def _listen(page: Page) -> list[str]:
    """What `page` writes to its console and its uncaught errors, as the `console_messages`
    fixture gathers them for the default page."""
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: messages.append(f"pageerror: {error}"))
    return messages


def _problems(messages: list[str], *, expected: tuple[str, ...] = ()) -> list[str]:
    """CSP violations, uncaught errors and console errors, but for the ones the step expects."""
    return [
        message
        for message in messages
        if ("Content Security Policy" in message or message.startswith(("error", "pageerror")))
        and not any(allowed in message for allowed in expected)
    ]


def _card_fields(page: Page) -> dict[str, Any]:
    """localstripe's five inputs, by their placeholders."""
    names = ("number", "exp_month", "exp_year", "cvc", "postal_code")
    return {name: page.locator(f"#card-element input[placeholder='{name}']") for name in names}


def _type_card(page: Page, number: str) -> None:
    fields = _card_fields(page)
    for name, value in zip(fields, (number, "12", "34", "123", "K1A0B1"), strict=True):
        fields[name].fill(value)


# --- (a) a small business adds a card and finds its charge on the statement -----------------------


def test_a_small_business_adds_a_card_and_sees_its_charge_on_the_statement(
    live_server: Any,
    page: Page,
    small: BusinessAccount,
    stripe_api: str,
    console_messages: list[str],
):
    base = live_server.url
    page.set_default_timeout(10_000)
    user = validator_of(small, email="ana@roch.example")

    _sign_in(page, base, user.email)
    page.get_by_role("link", name="Boulangerie Saint-Roch", exact=True).click()
    page.locator("#account-sections").get_by_role("link", name="Billing").click()
    expect(page.get_by_role("heading", name="Billing of Boulangerie Saint-Roch")).to_be_visible()
    expect(page.locator("main")).to_contain_text("not eligible for bill-to-account")
    page.get_by_role("link", name="Payment methods", exact=True).click()
    expect(page.locator("main")).to_contain_text("No payment method is saved yet.")
    page.get_by_role("link", name="Add a card").click()
    expect(page.get_by_role("heading", name="Add a card")).to_be_visible()
    expect(_card_fields(page)["number"]).to_be_visible()  # localstripe's Stripe.js ran

    # Stripe's declined test card: refused in the page, nothing reaches the portal.
    _type_card(page, DECLINED_CARD)
    page.get_by_role("button", name="Save the card").click()
    expect(page.locator("#card-errors")).to_have_text(
        "The card was declined. Nothing was saved or charged; try another card."
    )
    expect(page.get_by_role("button", name="Save the card")).to_be_enabled()
    assert not PaymentMethod.objects.exists()
    # localstripe answers the refusal with a 402, which the console reports.
    declined = _problems(console_messages, expected=("402", LOCALSTRIPE_SHADOWS_ELEMENT))
    assert declined == [], declined

    # The good card, in the same entry.
    _card_fields(page)["number"].fill(GOOD_CARD)
    page.get_by_role("button", name="Save the card").click()
    expect(page.get_by_role("status")).to_contain_text("The card Visa ending in 4242 was saved.")
    row = page.locator("#payment-methods tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Visa ending in 4242")
    expect(row).to_contain_text("Default")
    expect(row).to_contain_text("12/2034")
    first = PaymentMethod.objects.get()
    assert (first.account, first.last4, first.is_default) == (small, "4242", True)

    # A second card, then made the default from the list.
    page.get_by_role("link", name="Add a card").click()
    _type_card(page, GOOD_CARD)
    page.get_by_role("button", name="Save the card").click()
    expect(page.get_by_role("status")).to_contain_text("was saved.")
    expect(row).to_have_count(2)
    card = PaymentMethod.objects.exclude(pk=first.pk).get()
    assert not card.is_default
    page.get_by_role("button", name=re.compile("^Make default")).click()
    expect(page.get_by_role("status")).to_contain_text("default")
    expect(row.locator(".badge")).to_have_count(1)
    expect(row.get_by_role("button", name=re.compile("^Make default"))).to_have_count(1)
    card.refresh_from_db()
    first.refresh_from_db()
    assert (card.is_default, first.is_default) == (True, False)

    # A label paid last month at order time, with the default card; the monthly job gathers it.
    today = periods.eastern_today(timezone.now())
    last_month = periods.previous_month(today)
    charge = services.charge_for(
        account=small,
        description="Return label CA123456789",
        amount=Decimal("12.50"),
        source="label:CA123456789",
        at=datetime.datetime.combine(
            last_month.replace(day=15), datetime.time(12), tzinfo=periods.EASTERN
        ),
    )
    assert charge.status == Charge.Status.PAID and charge.payment_method == card
    [statement] = services.issue_statements(now=timezone.now())

    page.get_by_role("link", name="Statements", exact=True).click()
    page.locator("#statements tbody a").first.click()
    expect(page.locator("#lines")).to_contain_text("Return label CA123456789")
    expect(page.locator("#lines")).to_contain_text("$12.50")
    expect(page.locator(".totals")).to_contain_text("$14.13")  # Ontario: 13% HST
    assert statement.total == Decimal("14.13")
    assert Statement.objects.get().charges.get() == charge
    problems = _problems(console_messages, expected=("402", LOCALSTRIPE_SHADOWS_ELEMENT))
    assert problems == [], problems


# --- (b) a commercial account downloads and pays an invoice -------------------------------------


def test_a_commercial_validator_downloads_an_invoice_and_pays_it(
    live_server: Any,
    page: Page,
    commercial: BusinessAccount,
    stripe_api: str,
    console_messages: list[str],
):
    base = live_server.url
    page.set_default_timeout(10_000)
    user = validator_of(commercial, email="ana@maple.example")
    mfa = with_totp(user)  # paying asks for the second factor again
    invoice = open_invoice(commercial)
    card = saved_card(user, commercial, stripe_api)

    _sign_in(page, base, user.email, totp_secret=mfa.secret)
    page.goto(f"{base}/business/{commercial.pk}/billing/invoices/")
    page.get_by_role("link", name="2026-000042", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("Invoice 2026-000042"))).to_be_visible()

    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download PDF").click()
    download = downloading.value
    assert download.suggested_filename == "invoice-2026-000042.pdf"
    pdf = PdfReader(io.BytesIO(Path(download.path()).read_bytes()))
    text = " ".join(page_.extract_text() for page_ in pdf.pages)
    assert "2026-000042" in text and "$1,234.56" in text

    page.get_by_role("link", name="Pay this invoice").click()
    expect(page.get_by_role("heading", name="Pay invoice 2026-000042")).to_be_visible()
    expect(page.get_by_label("Visa ending in 4242 — 12/2031")).to_be_checked()
    page.get_by_role("button", name="Pay $1,234.56").click()
    # A fresh code confirms the payment (the one typed at sign-in does not count).
    expect(page).to_have_url(re.compile(r"/accounts/2fa/reauthenticate/"))
    page.fill("#id_code", totp_code(mfa.secret, fresh=True))
    page.locator("main form button[type=submit]").first.click()

    expect(page.get_by_role("status")).to_contain_text(
        "Invoice 2026-000042 is paid. A receipt is on its way by e-mail."
    )
    expect(page.locator("h1 .badge")).to_have_text("Paid")
    expect(page.get_by_role("link", name="Pay this invoice")).to_have_count(0)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    payment = Payment.objects.get()
    assert (payment.status, payment.payment_method) == (Payment.Status.SUCCEEDED, card)
    assert _problems(console_messages) == [], console_messages


# --- (c) the Pay button during an online-payment window -----------------------------------------


def test_during_an_online_payment_window_the_pay_button_is_disabled(
    live_server: Any,
    page: Page,
    commercial: BusinessAccount,
    console_messages: list[str],
):
    base = live_server.url
    page.set_default_timeout(10_000)
    user = validator_of(commercial, email="ana@maple.example")
    invoice = open_invoice(commercial)
    closing(Feature.ONLINE_PAYMENT)

    _sign_in(page, base, user.email)
    page.goto(f"{base}/business/{commercial.pk}/billing/invoices/{invoice.pk}/")

    pay = page.get_by_role("button", name="Pay this invoice")
    expect(pay).to_be_disabled()
    expect(page.locator("#payment-down")).to_contain_text(
        "Online payment is unavailable for maintenance"
    )
    expect(page.locator("#payment-down")).to_contain_text("You can still view and download")
    expect(page.get_by_role("link", name="Download PDF")).to_be_visible()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "invoice-payment-down-en-wide.png"), full_page=True)

    response = page.goto(f"{base}/business/{commercial.pk}/billing/invoices/{invoice.pk}/pay/")
    assert response is not None and response.status == 503
    assert _problems(console_messages, expected=("503",)) == [], console_messages


# --- every billing page, photographed ---------------------------------------------------------


def _session_of(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.session.session_key or ""


def _pages(small: BusinessAccount, commercial: BusinessAccount, invoice: Invoice) -> dict:
    statement = Statement.objects.get(account=small)
    ours, theirs = f"/business/{small.pk}/billing", f"/business/{commercial.pk}/billing"
    return {
        "overview-small": f"{ours}/",
        "overview-commercial": f"{theirs}/",
        "methods": f"{theirs}/payment-methods/",
        "add-card": f"{ours}/payment-methods/add/",
        "remove-card": f"{theirs}/payment-methods/"
        f"{PaymentMethod.objects.filter(account=commercial).first().pk}/remove/",  # type: ignore[union-attr]
        "invoices": f"{theirs}/invoices/",
        "invoice": f"{theirs}/invoices/{invoice.pk}/",
        "pay": f"{theirs}/invoices/{invoice.pk}/pay/",
        "statements": f"{ours}/statements/",
        "statement": f"{ours}/statements/{statement.pk}/",
    }


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_billing_page_photographed_wide_and_on_a_phone(
    live_server: Any,
    browser: Browser,
    small: BusinessAccount,
    commercial: BusinessAccount,
    stripe_api: str,
    language: str,
):
    user = validator_of(small, commercial, email="ana@maple.example")
    invoice = open_invoice(commercial)
    saved_card(user, commercial, stripe_api)
    saved_card(user, small, stripe_api)
    last_month = periods.previous_month(periods.eastern_today(timezone.now()))
    for n, amount in enumerate(("12.50", "8.75", "23.10")):
        services.charge_for(
            account=small,
            description=f"Return label CA10000000{n}",
            amount=Decimal(amount),
            source=f"label:CA10000000{n}",
            at=datetime.datetime.combine(
                last_month.replace(day=10 + n), datetime.time(12), tzinfo=periods.EASTERN
            ),
        )
    services.issue_statements(now=timezone.now())
    session = _session_of(user)
    SHOTS.mkdir(exist_ok=True)

    problems: list[str] = []
    for width, viewport in WIDTHS.items():
        context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
        context.add_cookies(
            [  # type: ignore[list-item]
                {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url},
                {"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url},
            ]
        )
        page = context.new_page()
        messages = _listen(page)
        for name, path in _pages(small, commercial, invoice).items():
            messages.clear()
            response = page.goto(live_server.url + path)
            assert response is not None and response.status == 200, path
            expect(page.locator("html")).to_have_attribute("lang", f"{language}-CA")
            page.screenshot(path=str(SHOTS / f"{name}-{language}-{width}.png"), full_page=True)
            known = (LOCALSTRIPE_SHADOWS_ELEMENT,) if name == "add-card" else ()
            problems += [f"{name} {width}: {p}" for p in _problems(messages, expected=known)]
        context.close()

    assert problems == [], problems
