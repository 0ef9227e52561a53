"""What the billing overview and the card removal page say, in English and in French: how the
account pays (a small business, and why it cannot be billed to account; a commercial account on
terms, and its days), whom to call, how close a small business is to credit terms, and the warning
before removing its last card.

Each expected sentence is the catalogue's wording in the reader's language, and must differ from
the English one: a sentence left untranslated fails here, not only in a reader's browser.
"""

import datetime
import html
import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from accounts.models import BusinessAccount, User
from accounts.rights import Right
from billing import selectors
from billing.models import Charge, PaymentMethod
from billing.money import format_count, format_money
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.billing.factories import (
    BillingProfileFactory,
    CardFactory,
    ChargeFactory,
    StatementFactory,
)
from tests.returns.factories import PolicyFactory

# The removal page asks for a fresh second factor: bypassed, tests/billing/test_views.py proves it.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reauth_bypass")]

LANGUAGES = ["en", "fr"]
PHONE = "1 866 555-0142"  # not the default: the page reads it from the settings
TERMS_DAYS = 15  # credit terms are 15 or 30 days (billing_terms_15_or_30_days)

# The template's sentences (templates/billing/overview.html and remove_method.html).
SMALL_BADGE = "Small business"
COMMERCIAL_BADGE = "Commercial"
WHY_NOT = "Why can't this account be billed to account?"
NOT_ELIGIBLE = (
    "A small business account is not eligible for bill-to-account privileges. When your shipping "
    "and mailing volumes and revenue grow enough to meet the criteria of a commercial customer, "
    "a sales representative will contact you about the next steps; you may then be eligible for "
    "15-day credit terms."
)
PAYS_WHEN_ORDERING = (
    "You pay for products and services when you create your orders, with any recognized credit "
    "card. If you have an active postage meter, you can keep using your supplier account as a "
    "payment method."
)
STATEMENTS_INSTEAD = (
    "Instead of invoices, you get a monthly statement of your charges, also sent to you by e-mail."
)
ON_TERMS = (
    "Your purchases are billed to your account: one invoice a month, payable within %(days)s "
    "days. You can pay invoices online with a saved card."
)
NO_TERMS_YET = (
    "This account pays by card when it orders: it has no credit terms yet. Credit terms need an "
    "active agreement; ask your sales representative."
)
QUESTIONS = "Questions about billing? Call %(phone)s."
READINESS = "Credit readiness"
SHIPMENTS = "Shipments: %(done)s of %(needed)s"
REVENUE = "Revenue: %(done)s of %(needed)s"
LAST_ONE = (
    "This is the account's last payment method: until you add another, nothing can be ordered "
    "or paid."
)
RELY = "These rely on this payment method and will stop:"
POLICY = "Return policy “%(name)s” (%(reference)s)"
IT_IS_THE_DEFAULT = "It is the default: the newest other card becomes the default."


def flat(text: str) -> str:
    """Runs of white space (no-break spaces included) as one space, on the page as expected."""
    return " ".join(text.split())


def said(msgid: str, values: Callable[[], dict[str, object]] = dict) -> dict[str, str]:
    """`msgid` as each language says it, `values` worded in that language; French must exist."""
    found = {}
    for language in LANGUAGES:
        with translation.override(language):
            text = gettext(msgid)
            found[language] = flat(text % values() if "%(" in msgid else text)
    assert found["fr"], msgid
    assert found["fr"] != found["en"], f"no French for {msgid!r}"
    return found


def other(language: str) -> str:
    return "fr" if language == "en" else "en"


def member(account: BusinessAccount, level: Right = Right.CONSULT) -> User:
    return AccountLinkFactory.create(account=account, right=level).user


def read(client: Client, user: User, path: str, language: str) -> str:
    """The page `path` as `user` reads it in `language` (the language cookie, as a browser sends
    it once chosen), its text unescaped and flattened."""
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Language"] == language
    return flat(html.unescape(response.content.decode()))


def overview(account: BusinessAccount) -> str:
    return reverse("billing:overview", args=[account.pk])


@pytest.fixture(autouse=True)
def _phone_and_thresholds(settings):
    settings.PORTAL_CREDIT_MANAGEMENT_PHONE = PHONE
    settings.BILLING_UPGRADE_SHIPMENTS = 1000
    settings.BILLING_UPGRADE_REVENUE = "25000.00"


@pytest.fixture
def small() -> BusinessAccount:
    return BusinessAccountFactory.create(
        legal_name="Atelier Grenier", kind=BusinessAccount.Kind.SMALL_BUSINESS
    )


def on_terms(days: int) -> BusinessAccount:
    """A commercial account with an active agreement and credit terms: billed to account."""
    account = BusinessAccountFactory.create(legal_name="Boréal Distribution Ltée")
    ContractFactory.create(account=account)
    BillingProfileFactory.create(account=account, terms_days=days)
    return account


# --- how the account pays ------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_small_business_reads_why_it_cannot_be_billed_to_account_and_whom_to_call(
    client, small, language
):
    page = read(client, member(small), overview(small), language)

    for sentence in (SMALL_BADGE, PAYS_WHEN_ORDERING, WHY_NOT, NOT_ELIGIBLE, STATEMENTS_INSTEAD):
        assert said(sentence)[language] in page
    assert said(QUESTIONS, lambda: {"phone": PHONE})[language] in page
    assert said(NOT_ELIGIBLE)[other(language)] not in page  # the whole page in one language
    assert COMMERCIAL_BADGE not in page
    for commercial in (ON_TERMS, NO_TERMS_YET):
        assert said(commercial, lambda: {"days": TERMS_DAYS})[language] not in page


@pytest.mark.parametrize("days", [15, 30])
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_commercial_account_on_terms_reads_its_terms_days_and_whom_to_call(
    client, language, days
):
    account = on_terms(days)

    page = read(client, member(account), overview(account), language)

    terms = said(ON_TERMS, lambda: {"days": days})
    assert terms[language] in page
    assert f" {days} " in terms[language]
    assert terms[other(language)] not in page
    assert said(QUESTIONS, lambda: {"phone": PHONE})[language] in page
    for small_business in (WHY_NOT, NOT_ELIGIBLE, STATEMENTS_INSTEAD, READINESS, NO_TERMS_YET):
        assert said(small_business)[language] not in page


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_commercial_account_without_an_agreement_reads_that_it_has_no_terms_yet(client, language):
    account = BusinessAccountFactory.create()
    BillingProfileFactory.create(account=account, terms_days=TERMS_DAYS)  # no active agreement

    page = read(client, member(account), overview(account), language)

    assert said(NO_TERMS_YET)[language] in page
    assert said(ON_TERMS, lambda: {"days": TERMS_DAYS})[language] not in page
    assert said(QUESTIONS, lambda: {"phone": PHONE})[language] in page


# --- how close a small business is to credit terms -----------------------------------------------


def charged(
    account: BusinessAccount, days_ago: int, status: str, quantity: int, amount: str
) -> None:
    ChargeFactory.create(
        account=account,
        status=status,
        quantity=quantity,
        amount=Decimal(amount),
        hst=Decimal("0.00"),
        total=Decimal(amount),
        charged_at=timezone.now() - datetime.timedelta(days=days_ago),
    )


def progress(raw: str, name: str) -> str:
    found = re.search(rf'id="{name}-progress" max="100" value="(\d+)"', raw)
    assert found, f"no {name} progress bar"
    return found.group(1)


AS_WRITTEN = {
    "en": ["Shipments: 250 of 1,000", "Revenue: $6,500.00 of $25,000.00"],
    "fr": ["Envois : 250 sur 1 000", "Revenus : 6 500,00 $ sur 25 000,00 $"],  # flattened spaces
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_small_business_sees_its_last_twelve_months_against_the_upgrade_thresholds(
    client, small, language
):
    # Counted: paid by card or billed to the supplier account within the last 12 months.
    charged(small, 10, Charge.Status.PAID, 240, "6250.00")
    charged(small, 200, Charge.Status.SUPPLIER, 10, "250.00")
    # Not counted: older than a year, or refunded.
    charged(small, 400, Charge.Status.PAID, 500, "9000.00")
    charged(small, 5, Charge.Status.REFUNDED, 300, "4000.00")
    readiness = selectors.credit_readiness(small, timezone.localdate())
    assert (readiness.shipments, readiness.revenue) == (250, Decimal("6500.00"))
    assert (readiness.shipments_percent, readiness.revenue_percent) == (25, 26)
    user = member(small)

    page = read(client, user, overview(small), language)
    raw = client.get(overview(small)).content.decode()  # the fragment again, now from the cache

    assert said(READINESS)[language] in page
    shipments = said(
        SHIPMENTS,
        lambda: {
            "done": format_count(readiness.shipments),
            "needed": format_count(readiness.shipments_needed),
        },
    )
    revenue = said(
        REVENUE,
        lambda: {
            "done": format_money(readiness.revenue),
            "needed": format_money(readiness.revenue_needed),
        },
    )
    assert shipments[language] in page
    assert revenue[language] in page
    for written in AS_WRITTEN[language]:  # the reader's digit grouping and currency
        assert written in page
    assert progress(raw, "shipments") == str(readiness.shipments_percent)
    assert progress(raw, "revenue") == str(readiness.revenue_percent)


def test_a_small_business_past_a_threshold_sees_a_full_bar_not_more(client, small):
    charged(small, 3, Charge.Status.PAID, 1500, "100.00")
    readiness = selectors.credit_readiness(small, timezone.localdate())
    client.force_login(member(small))

    raw = client.get(overview(small)).content.decode()

    assert (readiness.shipments_percent, readiness.revenue_percent) == (100, 0)
    assert progress(raw, "shipments") == "100"
    assert progress(raw, "revenue") == "0"
    assert "Shipments: 1,500 of 1,000" in flat(html.unescape(raw))


# --- the warning before removing the last card ---------------------------------------------------


def remove_page(account: BusinessAccount, card: PaymentMethod) -> str:
    return reverse("billing:remove_method", args=[account.pk, card.pk])


@pytest.mark.parametrize("language", LANGUAGES)
def test_removing_a_small_business_last_card_warns_that_nothing_could_be_ordered_or_paid(
    client, small, language
):
    card = CardFactory.create(account=small, is_default=True)
    policy = PolicyFactory.create(account=small, payment_method=card, name="Boutique returns")

    page = read(client, member(small, Right.VALIDATE), remove_page(small, card), language)

    assert said(LAST_ONE)[language] in page
    assert said(LAST_ONE)[other(language)] not in page
    assert said(RELY)[language] in page
    named = said(POLICY, lambda: {"name": policy.name, "reference": policy.reference})
    assert named[language] in page
    assert said(IT_IS_THE_DEFAULT)[language] not in page  # no other card to become the default


def test_the_last_card_of_a_commercial_account_paying_when_ordering_warns_too(client):
    """Without credit terms a commercial account pays by card when it orders, as a small
    business does; on terms its invoices go on without a card."""
    without_terms = BusinessAccountFactory.create(legal_name="Boréal Distribution Ltée")
    card = CardFactory.create(account=without_terms, is_default=True)
    page = read(
        client, member(without_terms, Right.VALIDATE), remove_page(without_terms, card), "en"
    )
    assert said(LAST_ONE)["en"] in page

    on_credit = on_terms(30)
    card = CardFactory.create(account=on_credit, is_default=True)
    page = read(client, member(on_credit, Right.VALIDATE), remove_page(on_credit, card), "en")
    assert said(LAST_ONE)["en"] not in page


@pytest.mark.parametrize("language", LANGUAGES)
def test_removing_one_of_two_cards_gives_no_last_card_warning(client, small, language):
    card = CardFactory.create(account=small, is_default=True)
    CardFactory.create(account=small, last4="4444", brand="mastercard")

    page = read(client, member(small, Right.VALIDATE), remove_page(small, card), language)

    assert said(LAST_ONE)[language] not in page
    assert said(IT_IS_THE_DEFAULT)[language] in page


def test_a_removed_card_does_not_count_as_another_payment_method(client, small):
    card = CardFactory.create(account=small, is_default=True)
    CardFactory.create(account=small, last4="4444", status=PaymentMethod.Status.REMOVED)

    page = read(client, member(small, Right.VALIDATE), remove_page(small, card), "en")

    assert LAST_ONE in page


# --- what the next invoice or statement gathers so far -------------------------------------------

NEXT_INVOICE = "Charges for the next invoice"
NEXT_STATEMENT = "Charges for the next statement"
SO_FAR = (
    "%(counter)s charge so far, %(total)s taxes included.",
    "%(counter)s charges so far, %(total)s taxes included.",
)
PAID_WHEN_MADE = "Each was paid when it was made."
NOTHING_SINCE = "No charge since the last statement or invoice."


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_small_business_sees_the_charges_its_next_statement_will_gather(client, small, language):
    for cents, label in ((1130, "RR000000015CA"), (2260, "RR000000029CA")):
        ChargeFactory.create(
            account=small,
            status=Charge.Status.PAID,
            kind=Charge.Kind.RETURN_LABEL,
            source_reference=f"label:{label}",
            description=f"Return label {label}",
            total=Decimal(cents) / 100,
        )
    stated = ChargeFactory.create(account=small, status=Charge.Status.PAID, total=Decimal(99))
    stated.statement = StatementFactory.create(account=small)
    stated.save(update_fields=["statement"])

    page = read(client, member(small), overview(small), language)

    assert said(NEXT_STATEMENT)[language] in page and NEXT_INVOICE not in page
    with translation.override(language):
        total = flat(format_money(Decimal("33.90"), language))
        so_far = flat(ngettext(*SO_FAR, 2) % {"counter": 2, "total": total})
        assert flat(gettext("Return label %(number)s") % {"number": "RR000000029CA"}) in page
    assert so_far in page
    assert said(PAID_WHEN_MADE)[language] in page
    assert flat(format_money(Decimal(99), language)) not in page  # on its statement already


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_commercial_account_on_terms_sees_what_waits_for_its_next_invoice(client, language):
    account = on_terms(30)
    ChargeFactory.create(account=account, total=Decimal("11.30"))

    page = read(client, member(account), overview(account), language)

    assert said(NEXT_INVOICE)[language] in page and said(PAID_WHEN_MADE)[language] not in page
    assert flat(format_money(Decimal("11.30"), language)) in page


def test_an_account_with_nothing_waiting_says_so(client, small):
    page = read(client, member(small), overview(small), "fr")

    assert said(NOTHING_SINCE)["fr"] in page


def test_a_commercial_account_without_terms_reaches_its_statements(client):
    """It pays when ordering, so its charges go on statements: the tab and the latest ones."""
    account = BusinessAccountFactory.create(legal_name="Boréal Distribution Ltée")
    statement = StatementFactory.create(account=account)

    page = read(client, member(account), overview(account), "en")

    assert reverse("billing:statements", args=[account.pk]) in page
    assert reverse("billing:statement", args=[account.pk, statement.pk]) in page
    assert said(NEXT_STATEMENT)["en"] in page
