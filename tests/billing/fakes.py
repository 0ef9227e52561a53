"""An in-memory PaymentGateway for the outcomes localstripe cannot produce.

localstripe declines a card with one generic code, so a test that needs Stripe's other refusals
(insufficient funds, expired card, incorrect CVC) or a gateway that fails in the middle of a
payment uses this instead: `install(settings)` makes it the gateway, then
`FakeGateway.next_outcome = Refusal.INCORRECT_CVC` (or `GatewayUnavailable`) decides what the next
card setup or charge does. Everything else goes through localstripe.
"""

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from billing.gateway import CardRefused, CardSetup, GatewayUnavailable, Refusal, SavedCard

GATEWAY = "tests.billing.fakes.FakeGateway"


@dataclass(frozen=True)
class FakeCharge:
    customer: str
    gateway_id: str
    cents: int
    idempotency_key: str
    payment_id: str


class FakeGateway:
    """A gateway whose next card setup or charge ends as `next_outcome` says (once), then
    succeeds again. Saved cards come from `card`; charges made are kept in `charges`."""

    next_outcome: ClassVar[Refusal | type[GatewayUnavailable] | None] = None
    card: ClassVar[dict[str, Any]] = {}
    charges: ClassVar[list[FakeCharge]] = []
    _ids: ClassVar[Iterator[int]] = itertools.count(1)

    @classmethod
    def reset(cls) -> None:
        cls.next_outcome = None
        cls.card = {
            "brand": "visa",
            "last4": "4242",
            "exp_month": 12,
            "exp_year": 2031,
            "holder_name": "Jane Roy",
        }
        cls.charges = []

    @classmethod
    def _outcome(cls) -> None:
        outcome, cls.next_outcome = cls.next_outcome, None
        if isinstance(outcome, Refusal):
            raise CardRefused(outcome)
        if outcome is not None:
            raise outcome("the fake gateway is down")

    def create_customer(self, *, reference: str, name: str) -> str:
        return f"cus_fake{reference}"

    def start_card_setup(self, *, customer: str) -> CardSetup:
        setup_id = f"seti_fake{next(self._ids)}"
        return CardSetup(setup_id=setup_id, client_secret=f"{setup_id}_secret")

    def finish_card_setup(self, *, customer: str, setup_id: str) -> SavedCard:
        self._outcome()
        return SavedCard(gateway_id=f"pm_{setup_id}", **self.card)

    def detach(self, *, gateway_id: str) -> None:
        self._outcome()

    def charge(
        self, *, customer: str, gateway_id: str, cents: int, description: str, idempotency_key: str
    ) -> str:
        self._outcome()
        payment_id = f"pi_fake{next(self._ids)}"
        self.charges.append(FakeCharge(customer, gateway_id, cents, idempotency_key, payment_id))
        return payment_id

    def refund(self, *, payment_id: str, cents: int) -> str:
        self._outcome()
        return f"re_fake{next(self._ids)}"


def install(settings: Any) -> type[FakeGateway]:
    """Make the fake the portal's gateway for this test (pytest-django's `settings`)."""
    FakeGateway.reset()
    settings.BILLING_GATEWAY = GATEWAY
    return FakeGateway
