"""The 12-month report of returns received: periods by month, week and day read from the daily
rollup only, totals equal to the delivered events, and its page (grain links, rights, gate,
chart with a text alternative, bounded queries)."""

import base64
import datetime
import html
import random
import re
from collections import Counter

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts.models import BusinessAccount, Right
from outages.features import Feature
from portal.formatting import to_eastern
from returns.models import DailyReturns, ReturnLabel, TrackingEvent
from returns.reports import Grain, report_window, returns_report
from tests.accounts.factories import BusinessAccountFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.factories import UserFactory
from tests.outages.factories import closing
from tests.returns.factories import ContractPolicyFactory
from tests.returns.reports_factories import bulk_policies, eastern, label, rollup

D = datetime.date
TODAY = D(2026, 3, 5)  # a Thursday
NOW = eastern(TODAY, hour=10)
FIRST = D(2025, 4, 1)

pytestmark = pytest.mark.django_db


def test_the_window_is_the_current_month_and_the_eleven_before(db):
    assert report_window(TODAY) == (FIRST, TODAY)
    assert report_window(D(2026, 1, 31)) == (D(2025, 2, 1), D(2026, 1, 31))
    assert report_window(D(2025, 12, 1)) == (D(2025, 1, 1), D(2025, 12, 1))


# --- periods ---------------------------------------------------------------------------------


@pytest.fixture
def account() -> BusinessAccount:
    return BusinessAccountFactory.create()


def test_by_month_every_month_is_there_with_zero_when_nothing_came(account):
    rollup(account, {D(2025, 4, 1): 3, D(2025, 4, 30): 2, D(2026, 3, 5): 7})

    report = returns_report(account, TODAY, Grain.MONTH)

    assert [p.start for p in report.periods] == [
        D(2025 + (3 + n) // 12, (3 + n) % 12 + 1, 1) for n in range(12)
    ]
    assert [p.delivered for p in report.periods] == [5, *[0] * 10, 7]
    assert report.periods[-1].end == TODAY
    assert report.total == 12
    assert report.periods[0].label == "April 2025"


def test_by_week_periods_start_on_monday_and_the_first_one_is_cut_at_the_window(account):
    # April 1, 2025 is a Tuesday: the first week is Monday March 31's, counted from April 1.
    rollup(account, {D(2025, 3, 31): 100, D(2025, 4, 1): 1, D(2025, 4, 6): 2, D(2025, 4, 7): 4})

    report = returns_report(account, TODAY, Grain.WEEK)

    first, second = report.periods[:2]
    assert (first.start, first.end, first.delivered) == (FIRST, D(2025, 4, 6), 3)
    assert (second.start, second.end, second.delivered) == (D(2025, 4, 7), D(2025, 4, 13), 4)
    assert first.label == "Week of March 31, 2025"
    assert report.periods[-1].start == D(2026, 3, 2) and report.periods[-1].end == TODAY
    assert all(p.start.weekday() == 0 for p in report.periods[1:])
    assert report.total == 7


def test_by_day_every_day_of_the_window_is_a_period(account):
    rollup(account, {D(2025, 4, 1): 1, D(2026, 3, 5): 2, D(2026, 3, 6): 50})

    report = returns_report(account, TODAY, Grain.DAY)

    assert len(report.periods) == (TODAY - FIRST).days + 1
    assert report.periods[0].label == "April 1, 2025"
    assert report.total == 3
    assert report.busiest is not None and report.busiest.start == TODAY


def test_other_accounts_and_days_outside_the_window_are_not_counted(account):
    rollup(account, {D(2025, 3, 31): 9, D(2025, 5, 5): 1, D(2026, 3, 6): 9})
    rollup(BusinessAccountFactory.create(), {D(2025, 5, 5): 40})

    assert {grain: returns_report(account, TODAY, grain).total for grain in Grain.ALL} == {
        Grain.MONTH: 1,
        Grain.WEEK: 1,
        Grain.DAY: 1,
    }


def test_an_unknown_grain_reads_by_month(account):
    assert returns_report(account, TODAY, "year").grain == Grain.MONTH


def test_periods_are_named_in_french_for_a_french_reader(account):
    with translation.override("fr"):
        assert returns_report(account, TODAY, Grain.WEEK).periods[-1].label == (
            "Semaine du 2 mars 2026"
        )
        assert returns_report(account, TODAY, Grain.MONTH).periods[-1].label == "mars 2026"
        assert returns_report(account, TODAY, Grain.DAY).periods[0].label == "1er avril 2025"


# --- the totals equal the events --------------------------------------------------------------


def delivered_events(account: BusinessAccount, seed: int) -> list[datetime.datetime]:
    """Random DELIVERED events of `account` over 13 months, some just before or after an
    Eastern midnight at a month's edge; the rollup made from them as ingestion keeps it."""
    policy = ContractPolicyFactory.create(account=account)
    chance = random.Random(seed)
    moments = [
        eastern(
            D(2025, 3, 1) + datetime.timedelta(days=chance.randrange(400)), chance.randrange(24)
        )
        for _ in range(300)
    ]
    # 11:30 p.m. in Toronto is the next day in UTC: on April 30 it is May 1 there.
    moments += [
        eastern(D(2025, 4, 30), 23, 30),
        eastern(D(2025, 3, 31), 23, 59),
        eastern(D(2025, 4, 1), 0, 1),
        eastern(D(2026, 2, 28), 23, 45),
        eastern(TODAY, 23, 59),
    ]
    labels = ReturnLabel.objects.bulk_create(
        label(policy, ReturnLabel.State.DELIVERED, moment) for moment in moments
    )
    TrackingEvent.objects.bulk_create(
        TrackingEvent(
            label=row,
            account=account,
            kind=TrackingEvent.Kind.DELIVERED,
            occurred_at=moment,
            applied_at=moment,
        )
        for row, moment in zip(labels, moments, strict=True)
    )
    per_day = Counter(to_eastern(moment).date() for moment in moments)
    rollup(account, dict(per_day))
    return moments


def events_between(account: BusinessAccount, start: D, end: D) -> int:
    return TrackingEvent.objects.filter(
        account=account,
        kind=TrackingEvent.Kind.DELIVERED,
        occurred_at__gte=eastern(start, 0),
        occurred_at__lt=eastern(end + datetime.timedelta(days=1), 0),
    ).count()


@pytest.mark.parametrize("grain", Grain.ALL)
@pytest.mark.parametrize("seed", [1, 2])
def test_the_report_totals_equal_the_delivered_events(account, grain, seed):
    moments = delivered_events(account, seed)

    report = returns_report(account, TODAY, grain)

    for period in report.periods:
        assert period.delivered == events_between(account, period.start, period.end), period
    in_window = [m for m in moments if FIRST <= to_eastern(m).date() <= TODAY]
    assert report.total == len(in_window) == events_between(account, FIRST, TODAY)


def test_an_event_at_1130_pm_on_april_30_counts_in_april(account):
    delivered_events(account, seed=3)

    april = returns_report(account, TODAY, Grain.MONTH).periods[0]

    assert april.delivered == events_between(account, D(2025, 4, 1), D(2025, 4, 30))
    assert DailyReturns.objects.get(account=account, day=D(2025, 4, 30)).delivered >= 1


@pytest.mark.parametrize("grain", Grain.ALL)
def test_the_report_never_reads_the_tracking_events(account, grain):
    delivered_events(account, seed=4)

    with CaptureQueriesContext(connection) as captured:
        returns_report(account, TODAY, grain)

    assert len(captured) == 1
    assert "trackingevent" not in captured[0]["sql"].lower()
    assert "returnlabel" not in captured[0]["sql"].lower()


# --- the page ---------------------------------------------------------------------------------


def page_url(account: BusinessAccount, grain: str | None = None) -> str:
    url = reverse("returns:report", args=[account.pk])
    return f"{url}?grain={grain}" if grain else url


def signed_in(client: Client, account: BusinessAccount) -> Client:
    client.force_login(AccountLinkFactory.create(account=account, right=Right.CONSULT).user)
    return client


def text_of(response: object) -> str:
    return html.unescape(response.content.decode())  # type: ignore[attr-defined]


@time_machine.travel(NOW, tick=False)
def test_the_report_reads_by_month_by_default_with_its_total(client, account):
    rollup(account, {D(2025, 12, 1): 1200, D(2025, 12, 2): 34, D(2026, 3, 2): 5})
    signed_in(client, account)

    page = text_of(client.get(page_url(account)))

    assert "Returns received in the last 12 months" in page
    assert "From April 1, 2025 to March 5, 2026: 1,239 returns received." in page
    assert re.search(r'<th scope="row">December 2025</th>.*?>1,234</td>', page, re.S)
    assert re.search(r'aria-current="page" href="\?grain=month">By month<', page)
    assert 'href="?grain=week">By week<' in page and 'href="?grain=day">By day<' in page


@time_machine.travel(NOW, tick=False)
def test_the_grain_switches_with_a_plain_link_and_the_downloads_follow_it(client, account):
    rollup(account, {D(2026, 3, 2): 5})
    signed_in(client, account)

    page = text_of(client.get(page_url(account, "week")))

    assert re.search(r'<th scope="row">Week of March 2, 2026</th>', page)
    assert re.search(r'aria-current="page" href="\?grain=week"', page)
    download = reverse("returns:report_download", args=[account.pk, "xlsx"])
    assert f'href="{download}?grain=week"' in page


@time_machine.travel(NOW, tick=False)
def test_by_day_a_row_is_the_day_and_its_returns(client, account):
    """A day is its own first and last day: two columns, kept as rows on a phone."""
    rollup(account, {D(2026, 3, 2): 5})
    signed_in(client, account)

    page = text_of(client.get(page_url(account, "day")))
    by_week = text_of(client.get(page_url(account, "week")))

    table = re.search(r'<table class="([^"]+)" id="report">(.*?)</table>', page, re.S)
    assert table is not None and "table-stack" not in table.group(1)
    headings = re.findall(r'<th scope="col"[^>]*>([^<]+)</th>', table.group(2))
    assert headings == ["Day", "Returns received"]
    assert re.search(r'<th scope="row">March 2, 2026</th>\s*<td[^>]*>5</td>', page)
    assert "First day" not in table.group(2)
    assert "table-stack" in by_week and "First day" in by_week


@time_machine.travel(NOW, tick=False)
def test_the_chart_has_a_text_alternative_and_the_table_every_figure(client, account):
    rollup(account, {D(2025, 12, 1): 200, D(2026, 1, 5): 20})
    signed_in(client, account)

    page = client.get(page_url(account)).content.decode()

    image = re.search(r'<img [^>]*src="data:image/svg\+xml;base64,([^"]+)" alt="([^"]+)"', page)
    assert image is not None
    alt = html.unescape(image.group(2))
    assert alt.startswith("Bar chart of the returns received each month")
    assert "220 in all" in alt and "The most: December 2025 (200)." in alt
    svg = base64.b64decode(image.group(1)).decode()
    assert "<script" not in svg and "December 2025" in svg
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    assert body is not None and len(re.findall(r'<th scope="row">', body.group(1))) == 12
    assert re.search(r"<script(?![^>]*\bsrc=)", page) is None
    assert re.search(r"<[^>]+\sstyle=", page) is None


@time_machine.travel(NOW, tick=False)
def test_the_report_page_is_in_french_for_a_french_reader(client, account):
    rollup(account, {D(2026, 3, 2): 1500})
    signed_in(client, account)

    page = text_of(client.get(page_url(account, "week"), HTTP_ACCEPT_LANGUAGE="fr"))

    assert "Semaine du 2 mars 2026" in page
    assert "1\u00a0500" in page or "1 500" in page


@pytest.mark.parametrize("right, status", [(Right.CONSULT, 200), (None, 404)])
def test_the_report_needs_consult_on_the_account(client, account, right, status):
    user = AccountLinkFactory.create(account=account, right=right).user if right else None
    client.force_login(user or UserFactory.create())

    assert client.get(page_url(account)).status_code == status


def test_another_businesss_report_is_404(client, account):
    signed_in(client, BusinessAccountFactory.create())

    assert client.get(page_url(account)).status_code == 404


def test_a_returns_reports_window_closes_the_report(
    client, account, django_capture_on_commit_callbacks
):
    signed_in(client, account)
    with django_capture_on_commit_callbacks(execute=True):
        closing(Feature.RETURNS_REPORTS)

    response = client.get(page_url(account))

    assert response.status_code == 503 and int(response["Retry-After"]) > 0


# --- bounded queries --------------------------------------------------------------------------

FEW, MANY = 10, 1000
EVENTS = 100_000


def spread(total: int, days: list[D]) -> dict[D, int]:
    """`total` returns spread over `days` (the rollup of that many events)."""
    share, left = divmod(total, len(days))
    return {day: share + (1 if n < left else 0) for n, day in enumerate(days)}


@time_machine.travel(NOW, tick=False)
@pytest.mark.usefixtures("full_render")
@pytest.mark.parametrize("grain", Grain.ALL)
def test_the_report_costs_the_same_queries_with_10_or_100000_events(client, grain):
    few, many = BusinessAccountFactory.create(), BusinessAccountFactory.create()
    bulk_policies(few, FEW)
    bulk_policies(many, MANY)
    rollup(few, {D(2026, 1, 5) + datetime.timedelta(days=n): 1 for n in range(FEW)})
    year = [FIRST + datetime.timedelta(days=n) for n in range((TODAY - FIRST).days + 1)]
    rollup(many, spread(EVENTS, year))
    user = AccountLinkFactory.create(account=few, right=Right.CONSULT).user
    AccountLinkFactory.create(account=many, right=Right.CONSULT, user=user)
    client.force_login(user)
    client.get(page_url(few, grain))  # warm the session and the gate's snapshot

    counts = []
    for target in (few, many):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(page_url(target, grain))
        counts.append(len(captured))
        assert response.status_code == 200
    assert counts[0] == counts[1] <= 5
    assert returns_report(many, TODAY, grain).total == EVENTS
