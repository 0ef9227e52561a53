"""Returns in Chromium: a commercial account's validator sets up a return policy, a customer gets a
label in French from its direct link, the carrier posts its tracking events, and the validator
finds the return charged on the invoice and counted in the report.

(a) The validator (English) opens the account > Returns, creates a policy paid by the account's
    agreement, activates it from the table, opens it and copies its direct link (the Copy button
    appears with JavaScript and says "Copied"; the clipboard holds the link). A customer, in a
    browser of their own with no session, opens the link, switches the page to French, fills the
    form by its French labels and downloads the PDF label, whose tracking number pypdf reads.
    The test then posts ACCEPTED and DELIVERED for that number to the signed tracking endpoint,
    as the carrier would: tasks are eager in tests, so the endpoint applies the events before it
    answers. Billed to account, the label's charge waits for the invoice: the test closes the
    month (billing's monthly job, told it is the first of next month) and the validator reads
    "Return label <number>" on the invoice, then today's return in the 12-month report by day and
    in its CSV.
(b) Every returns page photographed at 1280 and 390 px, in English and French, into
    /tmp/returns-shots/ for a person to look at, with a year of returns behind them.

No page breaks the Content Security Policy or writes an error to the console.
"""

import csv
import datetime
import io
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect
from pypdf import PdfReader

from accounts.models import BusinessAccount, Contact, Contract, User
from accounts.rights import Right
from billing import periods
from billing.models import Charge, Invoice
from billing.services import close_month
from portal.formatting import EASTERN, format_date, to_eastern
from portal.models import Delivery
from returns.messages import Kind
from returns.models import Channel, DailyReturns, ReturnLabel, ReturnPolicy, TrackingEvent
from returns.services import tracking
from tests.accounts.factories import BusinessAccountFactory, ContactFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.billing.factories import BillingProfileFactory
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.returns.factories import ContractPolicyFactory, LabelFactory, RecipientFactory
from tests.returns.tracking_factories import event_data, signed_headers

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path("/tmp/returns-shots")  # noqa: S108 - screenshots for a person to look at
WIDTHS = {"wide": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
S10 = re.compile(r"\b[A-Z]{2}\d{9}CA\b")
POLICY = "Online store returns"


# --- the account ----------------------------------------------------------------------------------


@pytest.fixture
def commercial() -> BusinessAccount:
    """Billed to account: an active parcel-services agreement and 30-day terms."""
    account = BusinessAccountFactory.create(legal_name="Maple Leaf Outfitters Inc.")
    ContractFactory.create(account=account, number="4012345678")
    BillingProfileFactory.create(account=account, terms_days=30)
    ContactFactory.create(account=account, role=Contact.Role.BILLING, email="ap@maple.example")
    return account


@pytest.fixture
def validator(commercial: BusinessAccount) -> User:
    user = UserFactory.create(email="ana@maple.example", first_name="Ana", last_name="Roy")
    AccountLinkFactory.create(account=commercial, user=user, right=Right.VALIDATE)
    return user


# --- the browser ----------------------------------------------------------------------------------


def _listen(page: Page) -> list[str]:
    """What `page` writes to its console and its uncaught errors, as "type: text"."""
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: messages.append(f"pageerror: {error}"))
    return messages


def _problems(messages: list[str]) -> list[str]:
    """CSP violations, uncaught errors and console errors."""
    return [
        message
        for message in messages
        if "Content Security Policy" in message or message.startswith(("error", "pageerror"))
    ]


def _sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    expect(page.get_by_role("heading", name="My business accounts")).to_be_visible()


def _said(page: Page) -> Any:
    """The page's messages (base.html's role=status block above the content)."""
    return page.locator("main > [role=status]")


def _post_events(playwright: Playwright, base: str, events: list[dict[str, Any]]) -> Any:
    """POST `events` to the tracking endpoint, signed with the carrier's secret, from outside
    any browser (no cookie, no CSRF token: a machine's request)."""
    body = json.dumps({"events": events}).encode()
    api = playwright.request.new_context(base_url=base)
    try:
        response = api.post(
            reverse("returns:tracking_events"),
            data=body,
            headers={"Content-Type": "application/json", **signed_headers(body)},
        )
        return response.status, response.json()
    finally:
        api.dispose()


def _pdf_text(pdf: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return reader, " ".join(page.extract_text() for page in reader.pages)


# --- (a) the journey ------------------------------------------------------------------------------


def _create_policy(page: Page, contract: Contract) -> None:
    """Through the form, as a person fills it (the postal code in lower case, no space)."""
    page.get_by_role("link", name="Create a return policy").click()
    expect(page.get_by_role("heading", name="Create a return policy")).to_be_visible()
    expect(page.locator("#no-payment")).to_have_count(0)  # the agreement can pay
    page.get_by_label("Policy name").fill(POLICY)
    page.get_by_label("Both", exact=True).check()
    page.get_by_label("Expedited Parcel — usually 5 business days").check()
    page.get_by_label("Return to (name or department)").fill("Returns department")
    page.get_by_label("Street address").fill("2701 Riverside Drive")
    page.get_by_label(re.compile(r"^City\b")).fill("Ottawa")
    page.get_by_label("Province or territory").select_option("ON")
    page.get_by_label("Postal code").fill("k1a0b1")
    page.get_by_label(f"Agreement {contract.number}").check()
    page.get_by_label("Instructions for your customers").fill("Put the packing slip in the box.")
    page.get_by_label("Return window (days after purchase)").fill("30")
    page.get_by_role("button", name="Create the policy").click()


def _get_a_label_in_french(customer: BrowserContext, link: str) -> tuple[str, bytes]:
    """The customer's side: the link, the language switch, the form, the PDF (its bytes: the
    download goes with the browser context)."""
    page = customer.new_page()
    messages = _listen(page)
    page.goto(link)
    expect(page.locator("html")).to_have_attribute("lang", "en-CA")
    page.get_by_role("button", name="Français").click()  # the header's language switch
    expect(page.locator("html")).to_have_attribute("lang", "fr-CA")
    expect(page).to_have_url(link)
    expect(page.get_by_role("heading", name="Obtenir une étiquette de retour")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Maple Leaf Outfitters Inc.")

    page.get_by_label("Votre nom").fill("Élodie Tremblay")
    page.get_by_label("Votre adresse courriel").fill("elodie@client.example")
    page.get_by_label("Référence de commande").fill("CMD-2026-0042")
    purchased = to_eastern(timezone.now()).date() - datetime.timedelta(days=3)
    page.get_by_label("Date d’achat").fill(purchased.isoformat())  # noqa: RUF001 - French
    page.get_by_label("Adresse municipale").fill("1200, rue Saint-Jean")
    page.get_by_label(re.compile(r"^Ville\b")).fill("Québec")
    page.get_by_label("Province ou territoire").select_option("QC")
    page.get_by_label("Code postal").fill("g1r 1s8")
    page.get_by_label(re.compile("^Je l’imprime moi-même")).check()  # noqa: RUF001
    page.get_by_role("button", name="Obtenir mon étiquette de retour").click()

    expect(page.get_by_role("heading", name="Votre étiquette de retour est prête")).to_be_visible()
    expect(page.locator("main [role=status]")).to_contain_text("elodie@client.example")
    number = page.locator("#tracking-number").inner_text().strip()
    assert S10.fullmatch(number), number
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Télécharger l’étiquette (PDF)").click()  # noqa: RUF001
    download = downloading.value
    assert download.suggested_filename == f"return-label-{number}.pdf"
    problems = _problems(messages)
    assert problems == [], problems
    page.close()
    return number, Path(download.path()).read_bytes()


def test_a_policy_s_direct_link_gives_a_french_customer_a_label_that_is_charged_and_reported(
    live_server: Any,
    browser: Browser,
    playwright: Playwright,
    commercial: BusinessAccount,
    validator: User,
):
    base = live_server.url
    contract = commercial.contracts.get()
    business = browser.new_context(
        viewport=WIDTHS["wide"],  # type: ignore[arg-type]
        locale="en-CA",
        permissions=["clipboard-read", "clipboard-write"],
    )
    business.set_default_timeout(15_000)
    page = business.new_page()
    messages = _listen(page)

    # --- the validator creates, activates and opens the policy ---------------------------------
    _sign_in(page, base, validator.email)
    page.get_by_role("link", name="Maple Leaf Outfitters Inc.", exact=True).click()
    page.locator("#account-sections").get_by_role("link", name="Returns").click()
    expect(page.get_by_role("heading", name="Return policies")).to_be_visible()
    expect(page.locator("main")).to_contain_text("No return policy yet.")
    _create_policy(page, contract)

    policy = ReturnPolicy.objects.get()
    expect(page.get_by_role("heading", name=POLICY)).to_be_visible()
    expect(_said(page)).to_contain_text(f"The return policy {policy.reference} was created.")
    assert (policy.status, policy.channel, policy.contract) == ("INACTIVE", Channel.BOTH, contract)
    assert (policy.return_postal_code, policy.return_window_days) == ("K1A 0B1", 30)

    page.locator(".nav-tabs").get_by_role("link", name="Return policies").click()
    row = page.locator("#policies tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(policy.reference)
    expect(row).to_contain_text("Inactive")
    expect(row).to_contain_text(f"Agreement {contract.number}")
    row.get_by_role("button", name=f"Activate — {POLICY}").click()
    expect(_said(page)).to_contain_text(
        f"The policy “{POLICY}” ({policy.reference}) is active: your customers can get labels."
    )
    expect(row).to_contain_text("Active")
    policy.refresh_from_db()
    assert policy.status == ReturnPolicy.Status.ACTIVE
    row.get_by_role("link", name=f"Open — {POLICY}").click()

    expect(page.get_by_role("heading", name=POLICY)).to_be_visible()
    field = page.get_by_role("textbox", name="Direct return link")
    expect(field).to_have_attribute("readonly", "")
    link = field.input_value()
    assert link == f"{base}/return/{policy.link_token}/"
    copy = page.get_by_role("button", name="Copy", exact=True)
    expect(copy).to_be_visible()  # hidden without JavaScript, where the field is enough
    copy.click()
    expect(page.locator('[data-copy-status="direct-link"]')).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == link
    expect(page.locator("#labels-issued")).to_have_text("0")

    # --- the customer gets a label, in French, in a browser of their own -----------------------
    customer = browser.new_context(viewport=WIDTHS["wide"])  # type: ignore[arg-type]
    customer.set_default_timeout(15_000)
    number, pdf = _get_a_label_in_french(customer, link)
    customer.close()

    reader, text = _pdf_text(pdf)
    assert reader.root_object["/Lang"] == "fr-CA"
    assert S10.findall(text) == [number]
    assert "numéro de suivi" in text.lower()
    assert "Élodie Tremblay" in text and "Maple Leaf Outfitters Inc." in text
    label = ReturnLabel.objects.get()
    assert (label.tracking_number, label.policy, label.channel) == (number, policy, Channel.ONLINE)
    assert (label.customer_language, label.from_postal_code) == ("fr", "G1R 1S8")
    # The same PDF by e-mail, in the customer's language.
    assert list(Delivery.objects.filter(kind=Kind.LABEL).values_list("address", "language")) == [
        ("elodie@client.example", "fr")
    ]
    assert not Charge.objects.exists()  # a label costs nothing until it is used

    # --- the carrier posts ACCEPTED, then DELIVERED, to the signed endpoint --------------------
    now = timezone.now().replace(microsecond=0)
    accepted_at, delivered_at = now - datetime.timedelta(minutes=2), now
    status, answer = _post_events(
        playwright, base, [event_data(number, "ACCEPTED", accepted_at, "Québec")]
    )
    assert (status, answer) == (200, {"results": [{"index": 0, "status": "ok"}]})
    # Applied before the answer (the task is eager in tests): the label is dropped off, charged.
    label.refresh_from_db()
    assert (label.state, label.accepted_at) == (ReturnLabel.State.ACCEPTED, accepted_at)
    charge = Charge.objects.get()
    assert (charge.account, charge.source_reference) == (commercial, f"label:{number}")
    assert (charge.description, charge.amount) == (f"Return label {number}", Decimal("12.50"))
    assert charge.status == Charge.Status.AWAITING_INVOICE  # billed to account: on the invoice

    status, answer = _post_events(
        playwright, base, [event_data(number, "DELIVERED", delivered_at, "Ottawa")]
    )
    assert (status, answer) == (200, {"results": [{"index": 0, "status": "ok"}]})
    label.refresh_from_db()
    assert (label.state, label.delivered_at) == (ReturnLabel.State.DELIVERED, delivered_at)
    assert not TrackingEvent.objects.filter(applied_at__isnull=True).exists()
    assert Charge.objects.count() == 1
    page.reload()
    expect(page.locator("#labels-issued")).to_have_text("1")

    # --- the month closes; the validator finds the label on the invoice -------------------------
    today = periods.eastern_today(timezone.now())
    next_first = periods.last_day(today.replace(day=1)) + datetime.timedelta(days=1)
    [invoice] = close_month(now=datetime.datetime.combine(next_first, datetime.time(6), EASTERN))
    charge.refresh_from_db()
    assert (charge.status, charge.invoice) == (Charge.Status.INVOICED, invoice)
    assert invoice.total == Decimal("14.13")  # Ontario: 13% HST

    page.get_by_role("link", name="Maple Leaf Outfitters Inc.").first.click()
    page.locator("#account-sections").get_by_role("link", name="Billing").click()
    page.locator(".nav-tabs").get_by_role("link", name="Invoices").click()
    page.locator("#invoices").get_by_role("link", name=invoice.number, exact=True).click()
    expect(
        page.get_by_role("heading", name=re.compile(f"Invoice {invoice.number}"))
    ).to_be_visible()
    expect(page.locator("#lines")).to_contain_text(f"Return label {number}")
    expect(page.locator("#lines")).to_contain_text("$12.50")
    expect(page.locator(".totals")).to_contain_text("$14.13")

    # --- and the return in the 12-month report, by day, and in its CSV --------------------------
    page.get_by_role("link", name="Maple Leaf Outfitters Inc.").first.click()
    page.locator("#account-sections").get_by_role("link", name="Returns").click()
    page.locator(".nav-tabs").get_by_role("link", name="Report").click()
    expect(
        page.get_by_role("heading", name="Returns received in the last 12 months")
    ).to_be_visible()
    page.get_by_role("link", name="By day").click()
    expect(page.get_by_role("link", name="By day")).to_have_attribute("aria-current", "page")
    with translation.override("en"):
        today_label = format_date(today)
    day_row = page.locator("#report tbody tr").filter(
        has=page.get_by_role("rowheader", name=today_label, exact=True)
    )
    expect(day_row.locator("td").last).to_have_text("1")
    expect(page.locator("#report tfoot td").last).to_have_text("1")
    expect(page.locator("main")).to_contain_text("1 return received.")
    assert DailyReturns.objects.get(account=commercial, day=today).delivered == 1

    with page.expect_download() as downloading:
        page.get_by_role("link", name=re.compile("^CSV")).click()
    download = downloading.value
    assert download.suggested_filename == f"returns-report-{commercial.customer_number}-day.csv"
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["Period", "First day", "Last day", "Returns received"]
    by_day = {row[1]: row[3] for row in rows[1:-1]}
    assert by_day[today.isoformat()] == "1"
    assert sum(int(count) for count in by_day.values()) == 1
    assert rows[-1][0] == "Total" and rows[-1][3] == "1"

    problems = _problems(messages)
    assert problems == [], problems
    business.close()


# --- (b) every returns page, photographed -------------------------------------------------------


def _session_of(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.session.session_key or ""


def _eastern(day: datetime.date, hour: int) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=EASTERN)


def _a_year_of_returns(policy: ReturnPolicy, today: datetime.date) -> ReturnLabel:
    """Returns delivered over the past year, a few on their way (one held up), and a label just
    issued to a customer; the events go through the tracking service, as the endpoint's do."""
    events: list[dict[str, Any]] = []
    for n in range(36):
        delivered = today - datetime.timedelta(days=4 + n * 9 + n % 4)
        label = LabelFactory.create(
            policy=policy, issued_at=_eastern(delivered - datetime.timedelta(days=6), 10)
        )
        events += [
            event_data(label, "ACCEPTED", _eastern(delivered - datetime.timedelta(days=4), 11)),
            event_data(label, "DELIVERED", _eastern(delivered, 14)),
        ]
    for n, kind in enumerate(("ACCEPTED", "ACCEPTED", "IN_TRANSIT", "EXCEPTION")):
        dropped = timezone.now() - datetime.timedelta(days=1 + n)
        label = LabelFactory.create(policy=policy, issued_at=dropped - datetime.timedelta(days=1))
        events.append(event_data(label, "ACCEPTED", dropped))
        if kind != "ACCEPTED":
            events.append(event_data(label, kind, dropped + datetime.timedelta(hours=5)))
    assert not any(result.is_error for result in tracking.record_tracking_events(events))
    tracking.apply_pending_events()
    return LabelFactory.create(
        policy=policy,
        channel=Channel.ONLINE,
        customer_name="Élodie Tremblay",
        order_reference="CMD-2026-0042",
    )


def _returns_pages(account: BusinessAccount, policy: ReturnPolicy) -> dict[str, str]:
    ours = f"/business/{account.pk}/returns"
    return {
        "policies": f"{ours}/",
        "policy-form": f"{ours}/new/",
        "policy-edit": f"{ours}/{policy.pk}/edit/",
        "policy": f"{ours}/{policy.pk}/",
        "forecast": f"{ours}/forecast/",
        "report": f"{ours}/report/",
        "report-day": f"{ours}/report/?grain=day",
        "notifications": f"{ours}/notifications/",
    }


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_returns_page_photographed_wide_and_on_a_phone(
    live_server: Any,
    browser: Browser,
    commercial: BusinessAccount,
    validator: User,
    language: str,
):
    contract = commercial.contracts.get()
    policy = ContractPolicyFactory.create(
        account=commercial,
        contract=contract,
        name=POLICY,
        instructions="Put the packing slip in the box.\nReturns are refunded within 10 days.",
    )
    ContractPolicyFactory.create(
        account=commercial,
        contract=contract,
        name="Store pick-ups",
        channel=Channel.POST_OFFICE,
        service="XPRESSPOST",
        status=ReturnPolicy.Status.INACTIVE,
        return_window_days=None,
    )
    today = to_eastern(timezone.now()).date()
    issued = _a_year_of_returns(policy, today)
    RecipientFactory.create(account=commercial, email="returns@maple.example")
    RecipientFactory.create(
        account=commercial, email="entrepot@maple.example", language="fr", mode="DAILY"
    )
    session = _session_of(validator)
    link = reverse("returns:direct_link", args=[policy.link_token])
    public = {
        "customer-form": link,
        "label-done": reverse(
            "returns:label_done", args=[policy.link_token, issued.tracking_number]
        ),
    }
    SHOTS.mkdir(exist_ok=True)

    problems: list[str] = []
    for width, viewport in WIDTHS.items():
        for who, pages in (("signed-in", _returns_pages(commercial, policy)), ("public", public)):
            context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
            cookies = [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language}]
            if who == "signed-in":
                cookies.append({"name": settings.SESSION_COOKIE_NAME, "value": session})
            context.add_cookies([{**c, "url": live_server.url} for c in cookies])  # type: ignore[typeddict-item]
            page = context.new_page()
            messages = _listen(page)
            for name, path in pages.items():
                messages.clear()
                response = page.goto(live_server.url + path)
                assert response is not None and response.status == 200, (path, response)
                expect(page.locator("html")).to_have_attribute("lang", f"{language}-CA")
                page.screenshot(path=str(SHOTS / f"{name}-{language}-{width}.png"), full_page=True)
                wide = page.evaluate("document.documentElement.scrollWidth")
                if wide > viewport["width"]:  # nothing scrolls sideways, on a phone either
                    problems.append(f"{name} {width}: {wide} px wide")
                problems += [f"{name} {width}: {p}" for p in _problems(messages)]
            context.close()

    assert problems == [], problems
    # What the pictures show is there: a year of returns, some on their way, two recipients.
    assert DailyReturns.objects.filter(account=commercial, delivered__gt=0).count() == 36
    assert Invoice.objects.count() == 0 and Charge.objects.count() == 40
