"""Billing months in Eastern Time: a month closes at midnight in Toronto, not in UTC."""

import calendar
import datetime

from portal.formatting import EASTERN

__all__ = ["EASTERN"]


def eastern_today(now: datetime.datetime) -> datetime.date:
    return now.astimezone(EASTERN).date()


def previous_month(today: datetime.date) -> datetime.date:
    """The first day of the month before the one `today` is in."""
    first = today.replace(day=1)
    return (first - datetime.timedelta(days=1)).replace(day=1)


def next_month(first: datetime.date) -> datetime.date:
    return (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def month_bounds(first: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """The instants the Eastern month starting on `first` begins and ends (end excluded)."""
    start = datetime.datetime.combine(first, datetime.time(), tzinfo=EASTERN)
    end = datetime.datetime.combine(next_month(first), datetime.time(), tzinfo=EASTERN)
    return start, end


def last_day(first: datetime.date) -> datetime.date:
    return next_month(first) - datetime.timedelta(days=1)


def last_valid_day(exp_month: int, exp_year: int) -> datetime.date:
    """A card is valid through the last day of its expiry month."""
    return datetime.date(exp_year, exp_month, calendar.monthrange(exp_year, exp_month)[1])
