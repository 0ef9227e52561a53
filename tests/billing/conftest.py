"""Billing fixtures: localstripe as the gateway, cards saved through it as a browser would."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe

from tests import localstripe


@pytest.fixture(scope="session")
def localstripe_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = localstripe.free_port()
    process = localstripe.start(port, workdir=Path(tmp_path_factory.mktemp("localstripe")))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def stripe_api(localstripe_base: str, settings: Any) -> str:
    """Point the portal's Stripe adapter (and the card page's script) at this process's
    localstripe; returns its base URL."""
    settings.BILLING_GATEWAY = "billing.gateway.StripeGateway"
    settings.STRIPE_API_BASE = localstripe_base
    settings.STRIPE_JS_URL = f"{localstripe_base}/js.stripe.com/v3/"
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {
            **directives,
            "script-src": ["'self'", localstripe_base],
            "frame-src": [localstripe_base],
            "connect-src": ["'self'", localstripe_base],
        }
    }
    return localstripe_base


def stripe_client(base: str) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_local", base_addresses={"api": base})


def browser_setup(
    base: str, setup_id: str, number: str, *, exp_year: int = 2031, name: str = "Jane Roy"
) -> None:
    """What Stripe.js does in the browser: confirm the setup with the card typed in the form.

    Raises stripe.CardError for a card localstripe refuses."""
    client = stripe_client(base)
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": exp_year, "cvc": "123"},
            "billing_details": {"name": name},
        }
    )
    client.v1.setup_intents.confirm(setup_id, params={"payment_method": method.id})


GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
INSUFFICIENT_FUNDS_CARD = "4000000000009995"
CHARGE_DECLINED_CARD = "4000000000000341"  # saves, then every charge is declined
# Stripe refuses these with expired_card and incorrect_cvc; localstripe, with its generic
# card_declined (tests/billing/test_gateway_localstripe.py says so).
EXPIRED_CARD = "4000000000000069"
INCORRECT_CVC_CARD = "4000000000000127"


@pytest.fixture
def reauth_bypass(monkeypatch: pytest.MonkeyPatch) -> None:
    """The user has two-factor on and entered a code a moment ago (STYLE §11): for tests of what
    a confirmed payment or removal does. tests/billing/test_views.py proves the check itself."""
    monkeypatch.setattr("portal.second_factor.is_mfa_enabled", lambda user: True)
    monkeypatch.setattr("portal.second_factor.confirmed_recently", lambda request: True)
