"""One home for the Canadian postal-code rule (django-localflavor's), used by forms and services."""

from django.core.exceptions import ValidationError
from localflavor.ca.forms import CAPostalCodeField


def normalise_postal_code(raw: str) -> str:
    """Return "A1A 1A1" for what people type ("k1a0b1", " K1A 0B1 ").

    Raises ValidationError with the user-facing message when it is not a Canadian postal code.
    """
    return CAPostalCodeField().clean(raw)


def validate_postal_code(value: str) -> None:
    """Model validator: the stored form must already be the normalised one."""
    if normalise_postal_code(value) != value:
        raise ValidationError(CAPostalCodeField.default_error_messages["invalid"], code="invalid")
