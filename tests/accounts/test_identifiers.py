"""Customer and contract numbers as people type them: separators go, only ASCII digits count."""

import pytest
from django.core.exceptions import ValidationError

from accounts.identifiers import normalise_customer_number


def test_spaces_dashes_and_dots_are_separators():
    assert normalise_customer_number(" 0001 234-56.7 ") == "0001234567"


@pytest.mark.parametrize(
    "look_alike",
    [
        "١٢٣٤٥٦٧٨٩٠",  # Arabic-Indic digits
        "１２３４５６７８９０",  # full-width digits
        "¹²³⁴⁵⁶⁷⁸⁹⁰",  # superscripts
    ],
    ids=["arabic-indic", "full-width", "superscript"],
)
def test_digits_that_only_look_like_digits_are_refused_with_the_plain_message(look_alike):
    with pytest.raises(ValidationError, match="exactly 10 digits"):
        normalise_customer_number(look_alike)
