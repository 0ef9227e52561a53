"""The returns forecast: business days per province, the low-to-high range per day from labels on
their way, and its page (rights, gate, chart without script, bounded queries)."""

import base64
import datetime
import html
import re

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import BusinessAccount, Grant, Right
from outages.features import Feature
from returns.models import ReturnLabel, ReturnPolicy, ShippingService
from returns.reports import (
    LOOKBACK_DAYS,
    add_business_days,
    arrivals_forecast,
    is_business_day,
    next_business_days,
)
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.factories import UserFactory
from tests.outages.factories import closing
from tests.returns.factories import ContractPolicyFactory
from tests.returns.reports_factories import bulk_labels, bulk_policies, eastern, label

D = datetime.date
State = ReturnLabel.State
FRIDAY = D(2025, 6, 20)  # the Friday before Saint-Jean-Baptiste Day (Tuesday June 24)
NOW = eastern(FRIDAY, hour=10)


# --- business days --------------------------------------------------------------------------


def test_a_weekend_is_skipped():
    assert add_business_days(D(2025, 6, 13), 1, "ON") == D(2025, 6, 16)  # Friday → Monday
    assert add_business_days(D(2025, 6, 14), 1, "ON") == D(2025, 6, 16)  # Saturday → Monday
    assert add_business_days(D(2025, 6, 12), 3, "ON") == D(2025, 6, 17)  # Thursday → Tuesday


def test_the_start_day_itself_never_counts_and_zero_days_is_the_same_day():
    assert add_business_days(D(2025, 6, 16), 0, "ON") == D(2025, 6, 16)
    assert add_business_days(D(2025, 6, 16), 1, "ON") == D(2025, 6, 17)


def test_saint_jean_baptiste_is_skipped_in_quebec_but_not_in_ontario():
    assert not is_business_day(D(2025, 6, 24), "QC")
    assert is_business_day(D(2025, 6, 24), "ON")
    assert add_business_days(D(2025, 6, 23), 1, "QC") == D(2025, 6, 25)
    assert add_business_days(D(2025, 6, 23), 1, "ON") == D(2025, 6, 24)


def test_the_civic_holiday_is_skipped_where_it_is_statutory_only():
    # Monday August 4, 2025: a statutory holiday in the Northwest Territories, not in Ontario.
    assert add_business_days(D(2025, 8, 1), 1, "NT") == D(2025, 8, 5)
    assert add_business_days(D(2025, 8, 1), 1, "ON") == D(2025, 8, 4)


def test_victoria_day_is_skipped_in_ontario_but_not_in_nova_scotia():
    assert add_business_days(D(2025, 5, 16), 1, "ON") == D(2025, 5, 20)
    assert add_business_days(D(2025, 5, 16), 1, "NS") == D(2025, 5, 19)


def test_a_long_transit_skips_every_holiday_of_the_province_over_christmas():
    # Seven business days from Thursday December 18, 2025: Boxing Day is statutory in Ontario,
    # not in Quebec.
    assert add_business_days(D(2025, 12, 18), 7, "ON") == D(2025, 12, 31)
    assert add_business_days(D(2025, 12, 18), 7, "QC") == D(2025, 12, 30)


def test_an_unknown_province_keeps_the_federal_holidays():
    assert not is_business_day(D(2025, 7, 1), "")
    assert is_business_day(D(2025, 6, 24), "")


def test_the_forecast_days_skip_a_day_that_is_a_holiday_everywhere_the_returns_go():
    assert next_business_days(FRIDAY, 5, ["QC"]) == [
        D(2025, 6, 23),
        D(2025, 6, 25),
        D(2025, 6, 26),
        D(2025, 6, 27),
        D(2025, 6, 30),
    ]
    assert next_business_days(FRIDAY, 5, ["QC", "ON"]) == [
        D(2025, 6, 23),
        D(2025, 6, 24),
        D(2025, 6, 25),
        D(2025, 6, 26),
        D(2025, 6, 27),
    ]


# --- the forecast ---------------------------------------------------------------------------


@pytest.fixture
def policies(db: None) -> tuple[ReturnPolicy, ReturnPolicy]:
    """An Ontario policy and a Quebec one of the same account, both by Xpresspost (2 days)."""
    ontario = ContractPolicyFactory.create(service=ShippingService.XPRESSPOST, return_province="ON")
    quebec = ContractPolicyFactory.create(
        account=ontario.account,
        contract=ontario.contract,
        service=ShippingService.XPRESSPOST,
        return_province="QC",
        return_city="Montréal",
        return_postal_code="H2X 1Y4",
    )
    return ontario, quebec


def on_the_way(policy: ReturnPolicy, state: str, at: datetime.datetime, **kw: str) -> None:
    label(policy, state, at, **kw).save()


def by_day(account: BusinessAccount) -> dict[D, tuple[int, int, int, int]]:
    forecast = arrivals_forecast(account, FRIDAY)
    return {d.day: (d.low, d.high, d.exceptions, d.late) for d in forecast.days}


def test_the_forecast_lists_the_next_five_business_days_with_the_provinces_closed(policies):
    forecast = arrivals_forecast(policies[0].account, FRIDAY)

    assert [d.day for d in forecast.days] == [
        D(2025, 6, 23),
        D(2025, 6, 24),
        D(2025, 6, 25),
        D(2025, 6, 26),
        D(2025, 6, 27),
    ]
    assert [d.closed_in for d in forecast.days] == [(), ("QC",), (), (), ()]
    assert (forecast.low, forecast.high) == (0, 0)


def test_labels_on_their_way_are_expected_after_their_services_transit_time(policies):
    ontario, quebec = policies
    on_the_way(ontario, State.ACCEPTED, eastern(D(2025, 6, 19)))  # Thursday → Monday
    on_the_way(ontario, State.IN_TRANSIT, eastern(FRIDAY, 9))  # Friday → Tuesday
    on_the_way(quebec, State.IN_TRANSIT, eastern(FRIDAY, 9))  # Friday → Wednesday (24th off)
    on_the_way(ontario, State.ACCEPTED, eastern(FRIDAY, 9), service=ShippingService.PRIORITY)

    assert by_day(ontario.account) == {
        D(2025, 6, 23): (2, 2, 0, 0),
        D(2025, 6, 24): (1, 1, 0, 0),
        D(2025, 6, 25): (1, 1, 0, 0),
        D(2025, 6, 26): (0, 0, 0, 0),
        D(2025, 6, 27): (0, 0, 0, 0),
    }


def test_the_day_dropped_off_is_the_eastern_day(policies):
    ontario, _ = policies
    # 11:30 p.m. on Thursday in Toronto is already Friday in UTC: still Thursday's drop-off.
    on_the_way(ontario, State.ACCEPTED, eastern(D(2025, 6, 19), hour=23, minute=30))

    assert by_day(ontario.account)[D(2025, 6, 23)] == (1, 1, 0, 0)


def test_labels_in_exception_count_toward_the_high_end_only(policies):
    ontario, _ = policies
    on_the_way(ontario, State.ACCEPTED, eastern(D(2025, 6, 19)))
    on_the_way(ontario, State.EXCEPTION, eastern(D(2025, 6, 19)))
    # An exception already past its day could still arrive: the first day's high end.
    on_the_way(ontario, State.EXCEPTION, eastern(D(2025, 6, 12)))

    assert by_day(ontario.account)[D(2025, 6, 23)] == (1, 3, 2, 0)


def test_late_labels_count_toward_the_first_days_high_end(policies):
    ontario, _ = policies
    on_the_way(ontario, State.IN_TRANSIT, eastern(D(2025, 6, 16)))  # due Wednesday the 18th
    on_the_way(ontario, State.ACCEPTED, eastern(D(2025, 6, 18)))  # due today

    days = by_day(ontario.account)
    assert days[D(2025, 6, 23)] == (0, 2, 0, 2)
    assert sum(low for low, *_ in days.values()) == 0


def test_delivered_issued_stale_far_and_other_accounts_labels_are_not_forecast(policies):
    ontario, _ = policies
    on_the_way(ontario, State.DELIVERED, eastern(D(2025, 6, 19)))
    label(ontario, State.ISSUED, None).save()
    stale = FRIDAY - datetime.timedelta(days=LOOKBACK_DAYS + 1)
    on_the_way(ontario, State.IN_TRANSIT, eastern(stale))
    # Regular Parcel (7 days) from today: July 2 (Canada Day skipped), past the five days.
    on_the_way(ontario, State.ACCEPTED, eastern(FRIDAY), service=ShippingService.REGULAR_PARCEL)
    theirs = ContractPolicyFactory.create(service=ShippingService.XPRESSPOST)
    on_the_way(theirs, State.ACCEPTED, eastern(D(2025, 6, 19)))

    forecast = arrivals_forecast(ontario.account, FRIDAY)

    assert (forecast.low, forecast.high) == (0, 0)
    assert arrivals_forecast(theirs.account, FRIDAY).low == 1


def test_labels_of_a_deleted_policy_are_still_expected(policies):
    ontario, _ = policies
    on_the_way(ontario, State.ACCEPTED, eastern(D(2025, 6, 19)))
    ReturnPolicy.objects.filter(pk=ontario.pk).update(deleted_at=NOW)

    assert by_day(ontario.account)[D(2025, 6, 23)] == (1, 1, 0, 0)


def test_an_account_without_policies_gets_five_business_days_of_its_own_province(db):
    account = BusinessAccountFactory.create(province="QC")

    forecast = arrivals_forecast(account, FRIDAY)

    assert D(2025, 6, 24) not in [d.day for d in forecast.days]
    assert len(forecast.days) == 5


# --- the page -------------------------------------------------------------------------------


def page_url(account: BusinessAccount) -> str:
    return reverse("returns:forecast", args=[account.pk])


def signed_in(client: Client, account: BusinessAccount, right: Right = Right.CONSULT) -> Client:
    client.force_login(AccountLinkFactory.create(account=account, right=right).user)
    return client


@time_machine.travel(NOW, tick=False)
def test_consult_reads_the_forecast_table_and_chart(client, policies):
    ontario, _ = policies
    on_the_way(ontario, State.ACCEPTED, eastern(D(2025, 6, 19)))
    on_the_way(ontario, State.EXCEPTION, eastern(D(2025, 6, 19)))
    signed_in(client, ontario.account)

    response = client.get(page_url(ontario.account))

    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "Returns for the next five days" in page
    row = re.search(r"<th scope=\"row\">June 23, 2025</th>(.*?)</tr>", page, re.S)
    assert row is not None
    assert "1 to 2" in row.group(1)
    assert "June 24, 2025</th>" in page and ">QC</td>" in page
    assert "between 1 and 2 returns expected" in page


@time_machine.travel(NOW, tick=False)
def test_the_chart_is_an_svg_image_without_script_and_the_page_has_no_inline_code(client, policies):
    signed_in(client, policies[0].account)

    page = client.get(page_url(policies[0].account)).content.decode()

    image = re.search(r'<img [^>]*src="data:image/svg\+xml;base64,([^"]+)"[^>]*>', page)
    assert image is not None
    assert 'alt="Bar chart of the returns expected' in image.group(0)
    svg = base64.b64decode(image.group(1)).decode()
    assert svg.startswith("<svg") and "<script" not in svg
    assert re.search(r"<script(?![^>]*\bsrc=)", page) is None
    assert re.search(r"<[^>]+\sstyle=", page) is None
    assert re.search(r"\son[a-z]+=", page) is None


@time_machine.travel(NOW, tick=False)
def test_the_forecast_is_in_french_for_a_french_reader(client, policies):
    signed_in(client, policies[0].account)

    page = html.unescape(
        client.get(page_url(policies[0].account), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    )

    assert "23 juin 2025" in page


@pytest.mark.parametrize("right, status", [(Right.CONSULT, 200), (None, 404)])
def test_the_forecast_needs_consult_on_the_account(client, policies, right, status):
    account = policies[0].account
    user = AccountLinkFactory.create(account=account, right=right).user if right else None
    client.force_login(user or UserFactory.create())

    assert client.get(page_url(account)).status_code == status


def test_another_business_and_a_contract_only_user_get_404(client, policies):
    account = policies[0].account
    signed_in(client, BusinessAccountFactory.create())
    assert client.get(page_url(account)).status_code == 404

    link = AccountLinkFactory.create(account=account, right=0)
    Grant.objects.create(
        link=link, contract=ContractFactory.create(account=account), level=Right.VALIDATE
    )
    client.force_login(link.user)
    assert client.get(page_url(account)).status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in(client, policies):
    response = client.get(page_url(policies[0].account))

    assert response.status_code == 302 and "login" in response["Location"]


def test_a_returns_reports_window_closes_the_forecast(
    client, policies, django_capture_on_commit_callbacks
):
    signed_in(client, policies[0].account)
    with django_capture_on_commit_callbacks(execute=True):
        closing(Feature.RETURNS_REPORTS)

    assert client.get(page_url(policies[0].account)).status_code == 503


def test_posting_to_the_forecast_is_refused(client, policies):
    signed_in(client, policies[0].account)

    assert client.post(page_url(policies[0].account)).status_code == 405


# --- bounded queries ------------------------------------------------------------------------

FEW, MANY = 10, 1000


def queries_for(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@time_machine.travel(NOW, tick=False)
@pytest.mark.usefixtures("full_render")
def test_the_forecast_costs_the_same_queries_with_10_or_1000_policies(client, db):
    few, many = BusinessAccountFactory.create(), BusinessAccountFactory.create()
    bulk_labels(bulk_policies(few, FEW), 5, FRIDAY)
    bulk_labels(bulk_policies(many, MANY), 5, FRIDAY)
    user = AccountLinkFactory.create(account=few, right=Right.CONSULT).user
    AccountLinkFactory.create(account=many, right=Right.CONSULT, user=user)
    client.force_login(user)
    client.get(page_url(few))  # warm the session and the gate's snapshot

    assert ReturnLabel.objects.filter(account=many).count() == MANY * 5
    assert queries_for(client, page_url(few)) == queries_for(client, page_url(many)) <= 8
    assert arrivals_forecast(many, FRIDAY).high > arrivals_forecast(few, FRIDAY).high


def test_a_label_goes_to_the_province_printed_on_it_after_its_policy_moves(policies):
    """Printed for Montréal, then the policy's returns moved to Ontario: the parcel still
    travels to Quebec, where the 24th is a holiday."""
    ontario, quebec = policies
    on_the_way(quebec, State.IN_TRANSIT, eastern(FRIDAY, 9))  # Friday → Wednesday in Quebec
    ReturnPolicy.objects.filter(pk=quebec.pk).update(return_province="ON")

    forecast = by_day(ontario.account)
    assert forecast[D(2025, 6, 25)] == (1, 1, 0, 0)
    assert forecast[D(2025, 6, 24)] == (0, 0, 0, 0)
    assert arrivals_forecast(ontario.account, FRIDAY).days[1].closed_in == ("QC",)


def test_a_label_printed_without_its_province_goes_where_its_policy_does(policies):
    _, quebec = policies
    label(quebec, State.IN_TRANSIT, eastern(FRIDAY, 9)).save()
    ReturnLabel.objects.update(return_province="")

    assert by_day(quebec.account)[D(2025, 6, 25)] == (1, 1, 0, 0)


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("en", "From June 23, 2025 to June 27, 2025: 1 return expected."),
        ("fr", "Du 23 juin 2025 au 27 juin 2025\u00a0: 1 retour prévu."),
    ],
)
def test_a_forecast_without_uncertainty_gives_one_figure(client, policies, language, sentence):
    """No exception and nothing late: "1 return expected", not "between 1 and 1"."""
    ontario, _ = policies
    on_the_way(ontario, State.ACCEPTED, eastern(D(2025, 6, 19)))
    signed_in(client, ontario.account)

    page = html.unescape(
        client.get(page_url(ontario.account), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    )

    assert " ".join(sentence.split()) in " ".join(page.split())
    assert "between" not in page and "entre 1 et 1" not in page
