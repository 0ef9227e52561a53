"""Cards refused while being saved, through the card page and localstripe: an expired card and a
wrong security code save nothing, and the person reads why, in English or in French. Every
refusal reason has its French message, on the page and in the words handed to Stripe.js."""

import html
import json
import re

import pytest
import stripe
from django.conf import settings
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import AuditEvent, BusinessAccount, User
from accounts.rights import Right
from billing.exceptions import CardNotAccepted
from billing.gateway import Refusal
from billing.models import PaymentMethod
from tests.accounts.factories import BusinessAccountFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.billing.conftest import EXPIRED_CARD, INCORRECT_CVC_CARD, browser_setup

pytestmark = pytest.mark.django_db
LANGUAGES = ["en", "fr"]


def in_language(language: str, refusal: Refusal) -> str:
    with translation.override(language):
        return str(CardNotAccepted(refusal))


def card_page(account: BusinessAccount) -> str:
    return reverse("billing:add_card", args=[account.pk])


def setup_id_of(page: str) -> str:
    found = re.search(r'data-client-secret="(seti_\w+?)_secret_', page)
    assert found, "no card setup on the page"
    return found.group(1)


def browser_words(page: str) -> dict[str, str]:
    """The refusal messages the page hands to Stripe.js (json_script "card-refusals")."""
    found = re.search(r'<script id="card-refusals" type="application/json">(.*?)</script>', page)
    assert found, "no refusal messages for the browser"
    words: dict[str, str] = json.loads(found.group(1))
    return words


@pytest.fixture
def account() -> BusinessAccount:
    return BusinessAccountFactory.create(kind=BusinessAccount.Kind.SMALL_BUSINESS)


@pytest.fixture
def manager(account: BusinessAccount) -> User:
    return AccountLinkFactory.create(account=account, right=Right.MANAGE).user


def signed_in(client: Client, user: User, language: str) -> None:
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("number", [EXPIRED_CARD, INCORRECT_CVC_CARD])
def test_an_expired_card_or_a_wrong_security_code_is_refused_on_the_card_page_and_saves_nothing(
    client, account, manager, stripe_api, number, language
):
    signed_in(client, manager, language)
    setup_id = setup_id_of(client.get(card_page(account)).content.decode())
    with pytest.raises(stripe.CardError) as shown:  # Stripe.js shows the gateway's refusal
        browser_setup(stripe_api, setup_id, number)

    response = client.post(card_page(account), {"setup_id": setup_id})

    # localstripe declines these with the generic card_declined, so the portal says "declined"
    # (against Stripe it would say "expired" or "security code": the fake's tests show those).
    assert shown.value.code == "card_declined"
    declined = in_language(language, Refusal.DECLINED)
    assert response.status_code == 200  # the card page again, to try another card
    assert [str(m) for m in get_messages(response.wsgi_request)] == [declined]
    page = html.unescape(response.content.decode())
    assert declined in page
    assert setup_id_of(page) != setup_id  # a new setup for the next card
    assert not PaymentMethod.objects.filter(account=account).exists()
    assert not AuditEvent.objects.filter(event=AuditEvent.Event.CARD_ADDED).exists()


def test_every_refusal_reason_has_a_message():
    assert set(CardNotAccepted.MESSAGES) == set(Refusal)


@pytest.mark.parametrize("refusal", list(Refusal))
def test_every_refusal_reason_has_its_message_in_french(refusal):
    english = in_language("en", refusal)
    french = in_language("fr", refusal)

    assert french.strip()
    assert french != english, f"no French for the {refusal} message"


def test_the_card_page_hands_stripe_js_every_refusal_message_in_the_readers_language(
    client, account, manager, stripe_api
):
    """Refused in the browser, a card gets the same words as refused by the portal."""
    signed_in(client, manager, "fr")

    words = browser_words(client.get(card_page(account)).content.decode())

    assert words == {str(refusal): in_language("fr", refusal) for refusal in Refusal}
