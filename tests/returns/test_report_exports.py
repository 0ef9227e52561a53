"""The forecast and the 12-month report downloaded as CSV and XLSX: read back with csv and
openpyxl, named after the account and the grain, neutralised against formulas, and gated like
their pages."""

import csv
import datetime
import io
from collections.abc import Iterator

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from accounts.models import BusinessAccount, Right
from outages.features import Feature
from returns.models import ReturnLabel, ShippingService
from returns.reports import XLSX_TYPE, xlsx_response
from tests.accounts.factories import BusinessAccountFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.outages.factories import closing
from tests.returns.factories import ContractPolicyFactory
from tests.returns.reports_factories import eastern, label, rollup

D = datetime.date
TODAY = D(2025, 6, 20)  # a Friday; Saint-Jean-Baptiste Day is the Tuesday after
NOW = eastern(TODAY, hour=10)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def account() -> BusinessAccount:
    account = BusinessAccountFactory.create(customer_number="0012345678")
    rollup(account, {D(2024, 7, 1): 5, D(2025, 1, 15): 30, D(2025, 6, 2): 7, D(2025, 6, 20): 1})
    policy = ContractPolicyFactory.create(
        account=account, service=ShippingService.XPRESSPOST, return_province="QC"
    )
    label(policy, ReturnLabel.State.IN_TRANSIT, eastern(D(2025, 6, 19))).save()  # → Monday
    label(policy, ReturnLabel.State.EXCEPTION, eastern(D(2025, 6, 20))).save()  # → Wednesday
    return account


@pytest.fixture
def reader(client: Client, account: BusinessAccount) -> Client:
    client.force_login(AccountLinkFactory.create(account=account, right=Right.CONSULT).user)
    return client


def report_url(account: BusinessAccount, file_format: str, grain: str | None = None) -> str:
    url = reverse("returns:report_download", args=[account.pk, file_format])
    return f"{url}?grain={grain}" if grain else url


def forecast_url(account: BusinessAccount, file_format: str) -> str:
    return reverse("returns:forecast_download", args=[account.pk, file_format])


def csv_rows(response: object) -> list[list[str]]:
    text = response.content.decode("utf-8-sig")  # type: ignore[attr-defined]
    return list(csv.reader(io.StringIO(text)))


def sheet_of(response: object) -> Worksheet:
    workbook = load_workbook(io.BytesIO(response.content))  # type: ignore[attr-defined]
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)
    return sheet


def filename_of(response: object) -> str:
    return response["Content-Disposition"]  # type: ignore[index]


# --- the report --------------------------------------------------------------------------------


@pytest.mark.parametrize("grain", ["month", "week", "day"])
def test_the_report_csv_has_a_row_per_period_and_the_total(reader, account, grain):
    response = reader.get(report_url(account, "csv", grain))

    rows = csv_rows(response)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert filename_of(response) == f'attachment; filename="returns-report-0012345678-{grain}.csv"'
    assert rows[0] == ["Period", "First day", "Last day", "Returns received"]
    assert rows[-1] == ["Total", "2024-07-01", "2025-06-20", "43"]
    assert sum(int(row[3]) for row in rows[1:-1]) == 43


def test_the_report_csv_by_month_reads_as_the_table_does(reader, account):
    rows = csv_rows(reader.get(report_url(account, "csv")))

    assert rows[1] == ["July 2024", "2024-07-01", "2024-07-31", "5"]
    assert rows[7] == ["January 2025", "2025-01-01", "2025-01-31", "30"]
    assert rows[12] == ["June 2025", "2025-06-01", "2025-06-20", "8"]
    assert len(rows) == 1 + 12 + 1


def test_the_report_xlsx_has_a_bold_header_dates_as_dates_and_counts_as_numbers(reader, account):
    response = reader.get(report_url(account, "xlsx", "week"))

    sheet = sheet_of(response)
    assert response["Content-Type"] == XLSX_TYPE
    assert filename_of(response) == 'attachment; filename="returns-report-0012345678-week.xlsx"'
    header = [cell.value for cell in sheet[1]]
    assert header == ["Period", "First day", "Last day", "Returns received"]
    assert all(cell.font.bold for cell in sheet[1])
    first = [cell.value for cell in sheet[2]]
    # July 1, 2024 is a Monday: the first week is whole.
    assert first == [
        "Week of July 1, 2024",
        datetime.datetime(2024, 7, 1),
        datetime.datetime(2024, 7, 7),
        5,
    ]
    assert sheet.cell(row=2, column=2).is_date and sheet.cell(row=2, column=4).data_type == "n"
    totals = [cell.value for cell in sheet[sheet.max_row]]
    assert totals[0] == "Total" and totals[3] == 43
    assert sum(sheet.cell(row=r, column=4).value for r in range(2, sheet.max_row)) == 43


def test_the_report_download_follows_the_readers_language(reader, account):
    response = reader.get(report_url(account, "csv", "month"), HTTP_ACCEPT_LANGUAGE="fr")

    rows = csv_rows(response)
    assert rows[1][0] == "juillet 2024"
    assert rows[0][0] == "Période"


# --- the forecast ------------------------------------------------------------------------------


def test_the_forecast_csv_has_a_row_per_business_day(reader, account):
    response = reader.get(forecast_url(account, "csv"))

    rows = csv_rows(response)
    assert filename_of(response) == 'attachment; filename="returns-forecast-0012345678.csv"'
    assert rows[0] == [
        "Day",
        "Date",
        "Low estimate",
        "High estimate",
        "On track",
        "In exception",
        "Late",
        "Holiday in",
    ]
    # Only Quebec receives returns: its Saint-Jean-Baptiste Day is not a business day.
    assert [row[1] for row in rows[1:-1]] == [
        "2025-06-23",
        "2025-06-25",
        "2025-06-26",
        "2025-06-27",
        "2025-06-30",
    ]
    assert rows[1] == ["June 23, 2025", "2025-06-23", "1", "1", "1", "0", "0", ""]
    assert rows[2][2:4] == ["0", "1"]
    assert rows[-1][0] == "Total" and rows[-1][2:4] == ["1", "2"]


def test_the_forecast_xlsx_reads_back_with_dates_and_numbers(reader, account):
    response = reader.get(forecast_url(account, "xlsx"))

    sheet = sheet_of(response)
    assert filename_of(response) == 'attachment; filename="returns-forecast-0012345678.xlsx"'
    assert sheet.title == "Forecast"
    assert all(cell.font.bold for cell in sheet[1])
    assert [cell.value for cell in sheet[2]][:4] == [
        "June 23, 2025",
        datetime.datetime(2025, 6, 23),
        1,
        1,
    ]
    assert sheet.max_row == 1 + 5 + 1


# --- formulas ------------------------------------------------------------------------------------


def test_every_text_cell_of_a_workbook_is_neutralised_and_numbers_and_dates_are_kept():
    hostile = [
        '=HYPERLINK("http://evil.example","click")',
        "+1+2",
        "-3+4",
        "@SUM(A1:A2)",
        "\tcmd",
        "\rcmd",
    ]
    response = xlsx_response(
        "x.xlsx",
        "Sheet",
        ["=Header", "Count", "Day"],
        [[text, -3, D(2025, 1, 2)] for text in hostile],
    )

    sheet = sheet_of(response)
    assert sheet["A1"].value == "'=Header"
    for row, text in enumerate(hostile, start=2):
        cell = sheet.cell(row=row, column=1)
        # XML reads a carriage return back as a line feed; the apostrophe in front is what counts.
        assert cell.value == f"'{text}".replace("\r", "\n") and cell.data_type == "s"
        assert sheet.cell(row=row, column=2).value == -3
        assert sheet.cell(row=row, column=3).value == datetime.datetime(2025, 1, 2)
    formulas = [c.coordinate for r in sheet.iter_rows() for c in r if c.data_type == "f"]
    assert formulas == []


@pytest.mark.parametrize("download", ["report", "forecast"])
def test_no_cell_of_a_real_download_is_a_formula(reader, account, download):
    url = report_url(account, "xlsx") if download == "report" else forecast_url(account, "xlsx")

    sheet = sheet_of(reader.get(url))

    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    assert all(
        not str(cell.value).startswith(("=", "+", "-", "@", "\t", "\r"))
        for cell in cells
        if isinstance(cell.value, str)
    )


# --- formats, rights and the gate -----------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["pdf", "xls", "CSV", "json"])
def test_another_format_is_404(reader, account, file_format):
    assert reader.get(report_url(account, file_format)).status_code == 404
    assert reader.get(forecast_url(account, file_format)).status_code == 404


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_another_businesss_downloads_are_404(client, account, file_format):
    other = BusinessAccountFactory.create()
    client.force_login(AccountLinkFactory.create(account=other, right=Right.VALIDATE).user)

    assert client.get(report_url(account, file_format)).status_code == 404
    assert client.get(forecast_url(account, file_format)).status_code == 404


def test_an_anonymous_visitor_downloads_nothing(client, account):
    response = client.get(report_url(account, "csv"))

    assert response.status_code == 302 and "login" in response["Location"]


def test_a_returns_reports_window_closes_the_downloads(
    reader, account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        closing(Feature.RETURNS_REPORTS)

    assert reader.get(report_url(account, "csv")).status_code == 503
    assert reader.get(forecast_url(account, "xlsx")).status_code == 503
