"""Money in the portal: Canadian dollars as `Decimal` with two places, rounded half-up.

Amounts are computed and stored as `Decimal` (never float), rounded once per line; the gateway is
sent whole cents. Shown the Canadian way in the reader's language: "$1,234.56" / "1 234,56 $".
"""

from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency, format_decimal
from django.utils.translation import get_language

CURRENCY = "CAD"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def rounded(amount: Decimal) -> Decimal:
    """`amount` to the cent, half-up (0.005 → 0.01), as Canadian invoices round."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def to_cents(amount: Decimal) -> int:
    """Whole cents, as the gateway is paid."""
    return int(rounded(amount) * 100)


def from_cents(cents: int) -> Decimal:
    return rounded(Decimal(cents) / 100)


def format_money(amount: Decimal, language: str | None = None) -> str:
    """`amount` as a reader of `language` (default: the active one) writes Canadian dollars."""
    french = (language or get_language() or "en").startswith("fr")
    return format_currency(rounded(amount), CURRENCY, locale="fr_CA" if french else "en_CA")


def format_count(count: int, language: str | None = None) -> str:
    """A whole number with the reader's digit grouping: "1,000" / "1 000"."""
    french = (language or get_language() or "en").startswith("fr")
    return format_decimal(count, locale="fr_CA" if french else "en_CA")
