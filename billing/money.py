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
FRENCH, ENGLISH = "fr_CA", "en_CA"  # the Babel locales of the portal's two languages


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
    return format_currency(rounded(amount), CURRENCY, locale=_locale(language))


def format_count(count: int, language: str | None = None) -> str:
    """A whole number with the reader's digit grouping: "1,000" / "1 000"."""
    return format_decimal(count, locale=_locale(language))


def _locale(language: str | None) -> str:
    """French for a French reader; English otherwise, and when no language is active."""
    language = language or get_language()
    return FRENCH if language and language.startswith("fr") else ENGLISH
