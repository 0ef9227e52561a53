"""The payment gateway: a small typed interface, and its production adapter on Stripe.

Services call `get_gateway()`; settings.BILLING_GATEWAY names the class. Locally and in CI the
Stripe API is localstripe (settings.STRIPE_API_BASE points the official client at it). Only the
gateway's ids and what identifies a card to a person come back: the card number and security
code go from the browser to the gateway (Stripe.js Elements), never through the portal.
"""

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import stripe
from django.conf import settings
from django.utils.module_loading import import_string


class Refusal(enum.StrEnum):
    """Why the gateway refused a card: each has its own message (billing.exceptions)."""

    DECLINED = "declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    EXPIRED = "expired_card"
    INCORRECT_CVC = "incorrect_cvc"
    AUTHENTICATION_REQUIRED = "authentication_required"
    PROCESSING_ERROR = "processing_error"


class CardRefused(Exception):
    """The gateway refused the card (nothing was saved or charged)."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal


class GatewayUnavailable(Exception):
    """The gateway could not be reached or answered an error: nothing is known to have happened."""


@dataclass(frozen=True)
class CardSetup:
    """A card entry the browser completes with Stripe.js (`client_secret`), known by `setup_id`."""

    setup_id: str
    client_secret: str


@dataclass(frozen=True)
class SavedCard:
    gateway_id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    holder_name: str


class PaymentGateway(Protocol):
    def create_customer(self, *, reference: str, name: str) -> str: ...

    def start_card_setup(self, *, customer: str) -> CardSetup: ...

    def finish_card_setup(self, *, customer: str, setup_id: str) -> SavedCard:
        """The card the browser entered for `setup_id`, attached to `customer`.

        Raises CardRefused when the card was refused, and GatewayUnavailable when the setup is
        not one of `customer`'s or did not succeed.
        """
        ...

    def detach(self, *, gateway_id: str) -> None: ...

    def charge(
        self, *, customer: str, gateway_id: str, cents: int, description: str, idempotency_key: str
    ) -> str:
        """Charge the saved card off-session; returns the gateway's payment id.

        The same `idempotency_key` never charges twice. Raises CardRefused, GatewayUnavailable.
        """
        ...

    def refund(self, *, payment_id: str, cents: int) -> str: ...


def get_gateway() -> PaymentGateway:
    return import_string(settings.BILLING_GATEWAY)()  # type: ignore[no-any-return]


# Stripe's codes (error.code, or error.decline_code for a generic decline) to the portal's own.
_REFUSALS = {
    "insufficient_funds": Refusal.INSUFFICIENT_FUNDS,
    "expired_card": Refusal.EXPIRED,
    "incorrect_cvc": Refusal.INCORRECT_CVC,
    "invalid_cvc": Refusal.INCORRECT_CVC,
    "authentication_required": Refusal.AUTHENTICATION_REQUIRED,
    "processing_error": Refusal.PROCESSING_ERROR,
}


def refusal_of(code: str | None, decline_code: str | None = None) -> Refusal:
    return _REFUSALS.get(decline_code or "") or _REFUSALS.get(code or "") or Refusal.DECLINED


class StripeGateway:
    """PaymentGateway on Stripe's API (or localstripe's, through STRIPE_API_BASE)."""

    def __init__(self) -> None:
        base = settings.STRIPE_API_BASE
        self.client = stripe.StripeClient(
            settings.STRIPE_SECRET_KEY,
            base_addresses={"api": base} if base else {},
            max_network_retries=2,  # Stripe's own retries reuse the idempotency key
            # The library waits 80 s per try by default: a gateway that stops answering would
            # hold the page (and the invoice's row lock) for minutes, past the web worker's limit.
            http_client=stripe.new_default_http_client(timeout=settings.STRIPE_TIMEOUT_SECONDS),
        )

    def create_customer(self, *, reference: str, name: str) -> str:
        with _translated_errors():
            customer = self.client.v1.customers.create(
                params={"name": name, "metadata": {"portal_account": reference}},
                options={"idempotency_key": f"customer-{reference}"},
            )
        return customer.id

    def start_card_setup(self, *, customer: str) -> CardSetup:
        with _translated_errors():
            intent = self.client.v1.setup_intents.create(
                params={"customer": customer, "usage": "off_session"}
            )
        return CardSetup(setup_id=intent.id, client_secret=intent.client_secret or "")

    def finish_card_setup(self, *, customer: str, setup_id: str) -> SavedCard:
        with _translated_errors():
            intent = self.client.v1.setup_intents.retrieve(setup_id)
            if intent.customer != customer:
                raise GatewayUnavailable(f"setup {setup_id} is not a setup of {customer}")
            if intent.status != "succeeded":
                raise _setup_failure(intent)
            method_id = str(intent.payment_method)
            method = self.client.v1.payment_methods.retrieve(method_id)
            if method.customer != customer:  # Stripe attaches it; localstripe leaves it to us
                method = self.client.v1.payment_methods.attach(
                    method_id, params={"customer": customer}
                )
        card = method.card
        if card is None:
            raise GatewayUnavailable(f"{method_id} is not a card")
        return SavedCard(
            gateway_id=method.id,
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            holder_name=method.billing_details.name or "",
        )

    def detach(self, *, gateway_id: str) -> None:
        with _translated_errors():
            self.client.v1.payment_methods.detach(gateway_id)

    def charge(
        self, *, customer: str, gateway_id: str, cents: int, description: str, idempotency_key: str
    ) -> str:
        with _translated_errors():
            intent = self.client.v1.payment_intents.create(
                params={
                    "amount": cents,
                    "currency": "cad",
                    "customer": customer,
                    "payment_method": gateway_id,
                    "metadata": {"portal_description": description[:500]},
                    "confirm": True,
                    "off_session": True,
                },
                options={"idempotency_key": idempotency_key},
            )
        if intent.status != "succeeded":
            raise CardRefused(Refusal.AUTHENTICATION_REQUIRED)
        return intent.id

    def refund(self, *, payment_id: str, cents: int) -> str:
        with _translated_errors():
            refund = self.client.v1.refunds.create(
                params={"payment_intent": payment_id, "amount": cents}
            )
        return refund.id


def _setup_failure(intent: Any) -> Exception:
    """Why a setup did not succeed: the card's refusal when the gateway refused it (Stripe keeps
    the error on the setup; localstripe cancels a setup whose card it declined), else unknown."""
    error = getattr(intent, "last_setup_error", None)
    if error is not None:
        return CardRefused(
            refusal_of(getattr(error, "code", None), getattr(error, "decline_code", None))
        )
    if intent.status == "canceled" and intent.payment_method:
        return CardRefused(Refusal.DECLINED)
    return GatewayUnavailable(f"setup {intent.id} did not succeed ({intent.status})")


@contextmanager
def _translated_errors() -> Iterator[None]:
    """Stripe's exceptions as the portal's: a refused card, or the gateway unavailable.

    The messages kept never carry card data: Stripe's errors name codes and ids only.
    """
    try:
        yield
    except stripe.CardError as error:
        decline_code = getattr(error.error, "decline_code", None)
        raise CardRefused(refusal_of(error.code, decline_code)) from None
    except stripe.StripeError as error:
        raise GatewayUnavailable(
            f"{type(error).__name__}: {error.code or error.http_status}"
        ) from None
