"""What people type for customer and contract numbers, made comparable.

Postal codes have their own home in portal/postal.py (django-localflavor's rule).
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_SEPARATORS = re.compile(r"[\s\-.]+")
# ASCII digits only: Python's \d also takes full-width and Arabic-Indic digits, which look like
# a number here and match nothing stored.
_TEN_DIGITS = re.compile(r"[0-9]{10}")


def strip_separators(raw: str) -> str:
    """ "0001 234-567" → "0001234567"; anything else is left for the caller to judge."""
    return _SEPARATORS.sub("", raw or "")


def normalise_customer_number(raw: str) -> str:
    """Return the 10 digits of a customer number typed with spaces or dashes.

    Raises ValidationError with the user-facing message when it is not 10 digits.
    """
    number = strip_separators(raw)
    if not _TEN_DIGITS.fullmatch(number):
        raise ValidationError(_("A customer number has exactly 10 digits."), code="invalid")
    return number


def normalise_contract_number(raw: str) -> str:
    """Return the 10 digits of a contract number, or "" when none was typed.

    Raises ValidationError with the user-facing message when something else was typed.
    """
    number = strip_separators(raw)
    if number and not _TEN_DIGITS.fullmatch(number):
        raise ValidationError(_("A contract number has exactly 10 digits."), code="invalid")
    return number
