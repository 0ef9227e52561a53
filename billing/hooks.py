"""How billing tells other apps about payment methods without importing them.

- `payment_method_unusable` (a Django signal) is sent, inside the transaction that made the
  change, when a payment method can no longer pay: a card expired or removed, an agreement
  cancelled by a conversion to small business or ended by staff (billing.listeners). Arguments:
  `account` (BusinessAccount), `method` (the PaymentMethod, or None for an agreement), `reason`
  (a `Reason`). The returns app listens and suspends the policies paid that way.
- `register_dependents(fn)`: fn(method) returns what relies on a payment method, as short
  sentences for a person ("Return policy “Boutique” (RP-12)"); the removal page lists them so
  the user knows what will stop before confirming.
"""

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.dispatch import Signal

if TYPE_CHECKING:
    from billing.models import PaymentMethod


class Reason(enum.StrEnum):
    CARD_EXPIRED = "card_expired"
    METHOD_REMOVED = "method_removed"
    AGREEMENT_ENDED = "agreement_ended"


payment_method_unusable = Signal()

Dependents = Callable[["PaymentMethod"], list[str]]
_dependents: list[Dependents] = []


def register_dependents(fn: Dependents) -> Dependents:
    if fn not in _dependents:
        _dependents.append(fn)
    return fn


def dependents_of(method: "PaymentMethod") -> list[str]:
    """Everything another app says relies on `method`."""
    return [item for fn in _dependents for item in fn(method)]
