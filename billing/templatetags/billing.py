"""Money and calendar days in templates, in the reader's language: {{ invoice.total|money }}."""

import datetime
from decimal import Decimal, InvalidOperation

from django import template

from billing.money import format_count, format_money
from portal.formatting import format_date, format_month

register = template.Library()


@register.filter
def money(amount: Decimal | str | None) -> str:
    """A Decimal, or an amount kept as text (a queued request's payload: "1234.56")."""
    if amount is None or amount == "":
        return ""
    try:
        return format_money(Decimal(str(amount)))
    except InvalidOperation:
        return ""


@register.filter
def number(value: int | None) -> str:
    """1,000 / 1 000: a count as the reader's language writes it."""
    return "" if value is None else format_count(value)


@register.filter
def day(value: datetime.date | None) -> str:
    return "" if value is None else format_date(value)


@register.filter
def month(value: datetime.date | None) -> str:
    return "" if value is None else format_month(value)
