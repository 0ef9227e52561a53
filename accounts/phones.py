"""Mobile numbers: Canadian by default, stored E.164, refused when they cannot receive a text."""

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from phonenumber_field.phonenumber import PhoneNumber, to_python

# North American numbers do not tell mobiles from land lines, so those pass; a number known to be
# a land line, toll-free or premium cannot receive the temporary password.
_TEXTABLE = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


def mobile_number(raw: object) -> PhoneNumber | None:
    """The number `raw` names when it is a valid number that can receive texts, else None."""
    number = to_python(raw, region="CA")
    if not isinstance(number, PhoneNumber) or not number.is_valid():
        return None
    if phonenumbers.number_type(number) not in _TEXTABLE:
        return None
    return number


def validate_mobile_number(value: object) -> None:
    if mobile_number(value) is None:
        raise ValidationError(
            _("Enter a valid mobile number, for example 613 555-0123."), code="invalid_mobile"
        )
