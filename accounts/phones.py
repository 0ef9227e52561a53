"""Mobile numbers: Canadian by default, stored E.164, refused when they cannot receive a text,
and shown the way the hints write them ("613 555-0123")."""

from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField
from phonenumber_field.phonenumber import PhoneNumber, to_python
from phonenumber_field.widgets import RegionalPhoneNumberWidget

REGION = "CA"

# North American numbers do not tell mobiles from land lines, so those pass; a number known to be
# a land line, toll-free or premium cannot receive the temporary password.
_TEXTABLE = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}

# One message for every refusal (malformed, unknown, toll-free, land line): the person typing
# needs to know what to enter, not which check failed.
INVALID_MOBILE = _(
    "Enter a mobile number that can receive text messages, for example 613 555-0123."
)

# North American numbers as the portal's hints write them: "613 555-0123".
_NANP_DISPLAY = phonenumbers.NumberFormat(pattern=r"(\d{3})(\d{3})(\d{4})", format=r"\1 \2-\3")


def mobile_number(raw: object) -> PhoneNumber | None:
    """The number `raw` names when it is a valid number that can receive texts, else None."""
    number = to_python(raw, region=REGION)
    if not isinstance(number, PhoneNumber) or not number.is_valid():
        return None
    if phonenumbers.number_type(number) not in _TEXTABLE:
        return None
    return number


def validate_mobile_number(value: object) -> None:
    if mobile_number(value) is None:
        raise ValidationError(INVALID_MOBILE, code="invalid_mobile")


def for_display(raw: object) -> str:
    """A number as people read it: "613 555-0123" in North America, "+44 7400 123456" abroad.

    What cannot be read as a number is shown as it was given.
    """
    number = to_python(raw, region=REGION)
    if not isinstance(number, PhoneNumber) or not number.is_valid():
        return "" if raw is None else str(raw)
    if number.country_code == 1:
        return phonenumbers.format_by_pattern(
            number, phonenumbers.PhoneNumberFormat.NATIONAL, [_NANP_DISPLAY]
        )
    return number.as_international


class NationalNumberWidget(RegionalPhoneNumberWidget):
    """A text box that shows a stored number formatted, never as raw E.164."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(region=REGION, attrs={"autocomplete": "off", **(attrs or {})})

    def format_value(self, value: Any) -> str | None:
        if value in (None, ""):
            return None
        return for_display(value)


class MobileNumberField(PhoneNumberField):
    """A form field for a mobile number, with one message whatever is wrong with it (the
    library's own "valid phone number or international prefix" check is replaced, not added to).
    """

    default_validators = [validate_mobile_number]
    widget = NationalNumberWidget

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("region", REGION)
        kwargs.setdefault("widget", NationalNumberWidget())
        kwargs["error_messages"] = {"invalid": INVALID_MOBILE, **kwargs.get("error_messages", {})}
        super().__init__(**kwargs)
