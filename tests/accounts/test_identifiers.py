"""Customer and contract numbers as people type them: separators go, only ASCII digits count."""

import pytest
from django.core.exceptions import ValidationError

from accounts.identifiers import normalise_customer_number


def test_spaces_dashes_and_dots_are_separators():
    assert normalise_customer_number(" 0001 234-56.7 ") == "0001234567"


def look_alike(first_codepoint: int) -> str:
    """1234567890 written with the ten digits that start at `first_codepoint`."""
    return "".join(chr(first_codepoint + int(digit)) for digit in "1234567890")


@pytest.mark.parametrize(
    "look_alike_number",
    [
        look_alike(0x0660),
        look_alike(0xFF10),
        "\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u2070",
    ],
    ids=["arabic-indic", "full-width", "superscript"],
)
def test_digits_that_only_look_like_digits_are_refused_with_the_plain_message(look_alike_number):
    with pytest.raises(ValidationError, match="exactly 10 digits"):
        normalise_customer_number(look_alike_number)
