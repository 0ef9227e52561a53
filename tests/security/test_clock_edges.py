"""Clock edges: the exact instants where an answer changes, and the two DST changes of Eastern
Time in 2026 (March 8, 2 a.m. → 3 a.m.; November 1, 2 a.m. → 1 a.m.).

Already proven elsewhere, so not repeated here: the gate's boundaries a second before, at and
after (tests/outages/test_gate.py), DST-correct entry of a window in the admin
(tests/outages/test_admin.py), Eastern formatting across DST (tests/outages/test_formatting.py),
a removal link valid at 29 days 23 hours and expired at 30 days and a second
(tests/accounts/test_removal_link.py), the monthly close around midnight of November 1
(tests/billing/test_invoices.py, charges at 23:30 and 0:30).
"""

import datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts import removal_links
from accounts.exceptions import RemovalLinkExpired
from accounts.models import BusinessAccount, LinkNotice
from billing import periods, services
from billing.models import Charge, Invoice
from outages import gate
from outages.features import Feature
from portal.formatting import EASTERN, format_moment
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import LinkNoticeFactory
from tests.billing.factories import BillingProfileFactory, ChargeFactory
from tests.outages.factories import closing
from tests.returns.factories import PolicyFactory

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
SECOND = datetime.timedelta(seconds=1)
HOUR = datetime.timedelta(hours=1)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def eastern(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime.datetime:
    """The instant of an Eastern wall-clock time, in UTC like every stored moment (arithmetic
    on two datetimes of one ZoneInfo counts wall-clock hours, not real ones)."""
    wall = datetime.datetime(year, month, day, hour, minute, second, tzinfo=EASTERN)
    return wall.astimezone(UTC)


# --- the removal link's 30 days -----------------------------------------------------------------


def removal_token_works(notice: LinkNotice, at: datetime.datetime) -> bool:
    with time_machine.travel(at, tick=False):
        try:
            removal_links.notice_for_token(removal_links.make_token(notice))
        except RemovalLinkExpired:
            return False
    return True


def test_a_removal_link_works_until_its_expiry_included_and_not_a_second_after():
    sent_at = utc(2026, 6, 10, 14, 30)
    notice = LinkNoticeFactory.create(sent_at=sent_at)
    expiry = sent_at + datetime.timedelta(days=30)

    assert removal_links.expires_at(notice) == expiry
    assert removal_token_works(notice, expiry - SECOND)
    assert removal_token_works(notice, expiry)  # "until this moment, included"
    assert not removal_token_works(notice, expiry + SECOND)


def test_a_removal_link_sent_before_the_fall_back_lasts_30_times_24_hours_and_says_so():
    """Sent at 10:30 a.m. EDT on October 20, it expires 720 hours later: 9:30 a.m. EST, which is
    what the e-mail shows (the expiry is an instant, not a wall-clock time)."""
    sent_at = eastern(2026, 10, 20, 10, 30)
    notice = LinkNoticeFactory.create(sent_at=sent_at)
    expiry = removal_links.expires_at(notice)

    assert expiry is not None and expiry - sent_at == 720 * HOUR
    assert format_moment(expiry) == "November 19, 9:30 a.m. (ET)"
    assert removal_token_works(notice, eastern(2026, 11, 19, 9, 30))
    assert not removal_token_works(notice, eastern(2026, 11, 19, 9, 30, 1))


# --- maintenance windows across DST, through a page ---------------------------------------------


def label_page(at: datetime.datetime, client: Client, token: str) -> Any:
    cache.clear()  # the gate's shared snapshot and the page's rate budget
    gate.forget_process_copy()
    with time_machine.travel(at, tick=False):
        return client.get(reverse("returns:direct_link", args=[token]))


def test_a_window_over_the_fall_back_lasts_four_real_hours_and_retry_after_counts_them(client):
    """Return labels closed from midnight EDT to 3 a.m. EST on November 1: 1:30 a.m. happens
    twice, and both are inside; Retry-After counts real seconds to 08:00 UTC."""
    starts, ends = eastern(2026, 11, 1, 0, 0), eastern(2026, 11, 1, 3, 0)
    assert (starts, ends) == (utc(2026, 11, 1, 4), utc(2026, 11, 1, 8))
    closing(Feature.RETURN_LABELS, starts_at=starts, ends_at=ends)
    token = PolicyFactory.create().link_token

    first_half_past_one = utc(2026, 11, 1, 5, 30)  # 1:30 a.m. EDT
    second_half_past_one = utc(2026, 11, 1, 6, 30)  # 1:30 a.m. EST
    answers = {
        "before": label_page(starts - SECOND, client, token),
        "start": label_page(starts, client, token),
        "1:30 EDT": label_page(first_half_past_one, client, token),
        "1:30 EST": label_page(second_half_past_one, client, token),
        "last second": label_page(ends - SECOND, client, token),
        "end": label_page(ends, client, token),
    }

    assert {name: a.status_code for name, a in answers.items()} == {
        "before": 200,
        "start": 503,
        "1:30 EDT": 503,
        "1:30 EST": 503,
        "last second": 503,
        "end": 200,
    }
    assert answers["1:30 EDT"]["Retry-After"] == str(9000)
    assert answers["1:30 EST"]["Retry-After"] == str(5400)
    assert answers["last second"]["Retry-After"] == "1"
    assert "until November 1 at 3 a.m. ET" in answers["1:30 EST"].content.decode()


def test_a_window_over_the_spring_forward_lasts_two_real_hours(client):
    """1 a.m. EST to 4 a.m. EDT on March 8 is two hours: 2:xx a.m. does not exist that night."""
    starts, ends = eastern(2026, 3, 8, 1, 0), eastern(2026, 3, 8, 4, 0)
    assert ends - starts == 2 * HOUR
    closing(Feature.RETURN_LABELS, starts_at=starts, ends_at=ends)
    token = PolicyFactory.create().link_token

    assert label_page(starts + HOUR, client, token)["Retry-After"] == "3600"
    assert label_page(ends - SECOND, client, token).status_code == 503
    assert label_page(ends, client, token).status_code == 200


# --- billing months in Eastern Time -------------------------------------------------------------


def test_eastern_months_are_an_hour_short_in_march_and_long_in_november():
    march = tuple(m.astimezone(UTC) for m in periods.month_bounds(datetime.date(2026, 3, 1)))
    november = tuple(m.astimezone(UTC) for m in periods.month_bounds(datetime.date(2026, 11, 1)))

    assert march == (utc(2026, 3, 1, 5), utc(2026, 4, 1, 4))
    assert march[1] - march[0] == (31 * 24 - 1) * HOUR
    assert november == (utc(2026, 11, 1, 4), utc(2026, 12, 1, 5))
    assert november[1] - november[0] == (30 * 24 + 1) * HOUR


def billed_account() -> BusinessAccount:
    account = BusinessAccountFactory.create()
    ContractFactory.create(account=account)
    BillingProfileFactory.create(account=account, terms_days=30)
    return account


def charge(account: BusinessAccount, at: datetime.datetime) -> Charge:
    return ChargeFactory.create(
        account=account, status=Charge.Status.AWAITING_INVOICE, charged_at=at
    )


def test_the_month_closes_at_midnight_eastern_not_at_midnight_utc():
    """November 30, 23:59:59 EST is already December 1 in UTC: closing then must not invoice
    November yet; at midnight Eastern it does, with the charge of that last second and without
    the one of the first second of December."""
    account = billed_account()
    last_second = charge(account, eastern(2026, 11, 30, 23, 59, 59))
    first_of_december = charge(account, eastern(2026, 12, 1, 0, 0, 0))

    assert services.close_month(now=eastern(2026, 11, 30, 23, 59, 59)) == []  # October: none
    [invoice] = services.close_month(now=eastern(2026, 12, 1, 0, 0, 0))

    assert (invoice.period_start, invoice.period_end, invoice.issued_on) == (
        datetime.date(2026, 11, 1),
        datetime.date(2026, 11, 30),
        datetime.date(2026, 12, 1),
    )
    assert list(invoice.charges.all()) == [last_second]
    first_of_december.refresh_from_db()
    assert first_of_december.status == Charge.Status.AWAITING_INVOICE


def test_october_closes_at_midnight_edt_on_the_day_of_the_fall_back():
    account = billed_account()
    charge(account, eastern(2026, 10, 31, 23, 59, 59))

    assert services.close_month(now=utc(2026, 11, 1, 3, 59, 59)) == []  # still October 31
    [invoice] = services.close_month(now=utc(2026, 11, 1, 4, 0, 0))  # midnight EDT

    assert invoice.period_start == datetime.date(2026, 10, 1)
    assert invoice.issued_on == datetime.date(2026, 11, 1)
    assert invoice.total > Decimal(0)
    assert Invoice.objects.count() == 1
