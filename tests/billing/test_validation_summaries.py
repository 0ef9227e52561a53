"""What a validator reads about a queued billing request: the invoice, the amount in their
language and the card; or the card to remove and what will stop working."""

from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from billing.templatetags.billing import money

NBSP = "\u00a0"
PAY = "billing/validation/pay_invoice.html"
REMOVE = "billing/validation/remove_payment_method.html"


@pytest.mark.parametrize("language, amount", [("en", "$1,234.56"), ("fr", f"1{NBSP}234,56{NBSP}$")])
def test_paying_an_invoice_shows_the_balance_kept_as_text_in_the_readers_language(language, amount):
    payload = {"number": "2026-000042", "balance": "1234.56", "card": "Visa ending in 4242"}

    with translation.override(language):
        summary = render_to_string(PAY, {"payload": payload, "account": None, "details": {}})

    assert "2026-000042" in summary and amount in summary and "Visa ending in 4242" in summary


def test_removing_a_card_lists_what_will_stop_working():
    payload = {"card": "Visa ending in 4242", "dependents": ["Return policy “Boutique” (RP-12)"]}

    summary = render_to_string(REMOVE, {"payload": payload, "account": None, "details": {}})
    nothing = render_to_string(
        REMOVE, {"payload": {**payload, "dependents": []}, "account": None, "details": {}}
    )

    assert "<strong>Visa ending in 4242</strong> will be removed" in summary
    assert "These will stop working:" in summary
    assert "<li>Return policy “Boutique” (RP-12)</li>" in summary
    assert "These will stop working" not in nothing and "<ul>" not in nothing


@pytest.mark.parametrize(
    "value, shown",
    [(Decimal("12.5"), "$12.50"), ("12.5", "$12.50"), (None, ""), ("", ""), ("abc", "")],
)
def test_the_money_filter_takes_a_decimal_or_its_text(value, shown):
    assert money(value) == shown
