"""The returns forecast for the next five business days and the 12-month report, with their
CSV and XLSX downloads.

Counting happens in the database. The forecast groups the labels still on their way by the
Eastern day they were dropped off, their service, the province they go to and their state (a
few hundred groups at most, however many labels), then dates each group in Python with the
business-day arithmetic below. The report reads only the per-day rollup (DailyReturns), summed
by month, week or day in SQL: never the tracking events.
"""

import datetime
import functools
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import holidays
from django.db.models import CharField, Count, F, Sum, Value
from django.db.models.functions import Coalesce, NullIf, TruncDate, TruncMonth, TruncWeek
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Font

from accounts.models import BusinessAccount
from portal.exports import csv_response, safe_cell
from portal.formatting import EASTERN, format_date, format_month
from portal.replica import reading_from_replica
from returns.models import DailyReturns, ReturnLabel, ReturnPolicy, ShippingService
from returns.models.policies import TRANSIT_DAYS

FORECAST_DAYS = 5
# A label still not delivered this many days after it was dropped off is no longer expected:
# it is looked into by support, not forecast. The longest transit (7 business days) fits well
# inside, holidays included.
LOOKBACK_DAYS = 30
REPORT_MONTHS = 12

State = ReturnLabel.State
ON_THE_WAY = (State.ACCEPTED, State.IN_TRANSIT)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- business days -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _holidays(province: str, year: int) -> frozenset[datetime.date]:
    """The statutory holidays of `province` (federal ones only for an unknown province)."""
    subdiv = province if province in holidays.Canada.subdivisions else None
    return frozenset(holidays.Canada(subdiv=subdiv, years=year).keys())


def is_business_day(day: datetime.date, province: str) -> bool:
    """Monday to Friday, and not a statutory holiday of `province` ("QC", "ON", ...)."""
    return day.weekday() < 5 and day not in _holidays(province, day.year)


def add_business_days(start: datetime.date, count: int, province: str) -> datetime.date:
    """The day `count` business days of `province` after `start` (which itself never counts:
    a parcel dropped off on Friday with one day of transit arrives on Monday, or on Tuesday when
    Monday is a holiday there). `count=0` gives `start`."""
    day = start
    while count > 0:
        day += datetime.timedelta(days=1)
        if is_business_day(day, province):
            count -= 1
    return day


def next_business_days(
    today: datetime.date, count: int, provinces: Iterable[str]
) -> list[datetime.date]:
    """The first `count` days after `today` on which returns can arrive in at least one of
    `provinces`: weekends are skipped, and so is a holiday of every one of them."""
    places = sorted(set(provinces))
    days: list[datetime.date] = []
    day = today
    while len(days) < count:
        day += datetime.timedelta(days=1)
        if any(is_business_day(day, province) for province in places):
            days.append(day)
    return days


# --- the forecast ------------------------------------------------------------------------------


@dataclass
class ForecastDay:
    """What may arrive on one business day. `low` counts the returns on track for that day;
    `high` adds those in exception that could still arrive then and, on the first day, those
    already late (expected earlier, not delivered yet)."""

    day: datetime.date
    on_track: int = 0
    exceptions: int = 0
    late: int = 0
    # Provinces (of the account's return addresses) where this day is a statutory holiday.
    closed_in: tuple[str, ...] = ()

    @property
    def low(self) -> int:
        return self.on_track

    @property
    def high(self) -> int:
        return self.on_track + self.exceptions + self.late

    @property
    def label(self) -> str:
        return format_date(self.day)


@dataclass
class Forecast:
    today: datetime.date
    days: list[ForecastDay] = field(default_factory=list)

    @property
    def low(self) -> int:
        return sum(day.low for day in self.days)

    @property
    def high(self) -> int:
        return sum(day.high for day in self.days)

    @property
    def first_day(self) -> datetime.date:
        return self.days[0].day

    @property
    def last_day(self) -> datetime.date:
        return self.days[-1].day


def _eastern_midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=EASTERN)


@reading_from_replica()  # reports read a replica when one is configured
def arrivals_forecast(account: BusinessAccount, today: datetime.date) -> Forecast:
    """The returns expected to arrive at `account`'s return addresses on each of the next five
    business days after `today` (an Eastern date): labels dropped off or in transit, dated by
    their service's transit time in business days of the return address's province. Labels in
    exception count toward their day's high end only, late ones (due by `today`, not delivered)
    toward the first day's. Two queries, whatever the number of labels."""
    groups = list(
        ReturnLabel.objects.filter(
            account=account,
            state__in=[*ON_THE_WAY, State.EXCEPTION],
            accepted_at__gte=_eastern_midnight(today - datetime.timedelta(days=LOOKBACK_DAYS)),
        )
        .annotate(
            dropped_off=TruncDate("accepted_at", tzinfo=EASTERN),
            # Where the label sends it, as printed; a label printed before labels kept their
            # return address goes where its policy does.
            province=Coalesce(
                NullIf("return_province", Value("")),
                "policy__return_province",
                output_field=CharField(),
            ),
        )
        .values("dropped_off", "service", "province", "state")
        .annotate(labels=Count("pk"))
        .order_by()
    )
    policies_send_to = set(
        ReturnPolicy.objects.filter(account=account)
        .order_by()
        .values_list("return_province", flat=True)
        .distinct()
    )
    labels_go_to = {group["province"] for group in groups}
    # Where returns arrive; an account with neither policies nor labels: its own province.
    provinces = (policies_send_to | labels_go_to) or {account.province}
    days = [
        ForecastDay(
            day=day,
            closed_in=tuple(p for p in sorted(provinces) if not is_business_day(day, p)),
        )
        for day in next_business_days(today, FORECAST_DAYS, provinces)
    ]
    by_day = {day.day: day for day in days}
    for group in groups:
        province = group["province"]
        transit = TRANSIT_DAYS[ShippingService(group["service"])]
        expected = add_business_days(group["dropped_off"], transit, province)
        if expected > days[-1].day:
            continue
        late = expected <= today
        # A business day of the label's province, so one of `days` (chosen over every province).
        target = days[0] if late else by_day[expected]
        if group["state"] == State.EXCEPTION:
            target.exceptions += group["labels"]
        elif late:
            target.late += group["labels"]
        else:
            target.on_track += group["labels"]
    return Forecast(today=today, days=days)


# --- the 12-month report -----------------------------------------------------------------------


class Grain:
    MONTH = "month"
    WEEK = "week"
    DAY = "day"
    ALL = (MONTH, WEEK, DAY)
    NAMES = {
        MONTH: gettext_lazy("By month"),
        WEEK: gettext_lazy("By week"),
        DAY: gettext_lazy("By day"),
    }

    @classmethod
    def parse(cls, value: str | None) -> str:
        """`value` when it names a grain, otherwise by month."""
        return value if value in cls.ALL else cls.MONTH


@dataclass(frozen=True)
class ReportPeriod:
    """One bar and one row: the returns delivered from `start` to `end` (both included, both
    inside the report's twelve months)."""

    grain: str
    start: datetime.date
    end: datetime.date
    delivered: int
    # The period's own first day: a week's Monday may come before the report's first day.
    opens: datetime.date

    @property
    def label(self) -> str:
        if self.grain == Grain.MONTH:
            return format_month(self.opens)
        if self.grain == Grain.WEEK:
            return _("Week of %(day)s") % {"day": format_date(self.opens)}
        return format_date(self.opens)


@dataclass(frozen=True)
class ReturnsReport:
    grain: str
    first_day: datetime.date
    last_day: datetime.date
    periods: list[ReportPeriod]

    @property
    def total(self) -> int:
        return sum(period.delivered for period in self.periods)

    @property
    def busiest(self) -> ReportPeriod | None:
        """The period with the most returns (the earliest of equals), or None with none."""
        best = max(self.periods, key=lambda period: period.delivered, default=None)
        return best if best is not None and best.delivered else None


def report_window(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The report's twelve months: from the first day of the month eleven months before
    `today`'s to `today`, both included."""
    months = today.year * 12 + today.month - 1 - (REPORT_MONTHS - 1)
    return datetime.date(months // 12, months % 12 + 1, 1), today


def _openings(grain: str, first: datetime.date, last: datetime.date) -> list[datetime.date]:
    """The first day of every period from the one holding `first` to the one holding `last`."""
    if grain == Grain.MONTH:
        return [
            datetime.date(
                first.year + (first.month - 1 + n) // 12, (first.month - 1 + n) % 12 + 1, 1
            )
            for n in range((last.year - first.year) * 12 + last.month - first.month + 1)
        ]
    step = 7 if grain == Grain.WEEK else 1
    start = first - datetime.timedelta(days=first.weekday()) if grain == Grain.WEEK else first
    return [start + datetime.timedelta(days=n) for n in range(0, (last - start).days + 1, step)]


@reading_from_replica()
def returns_report(account: BusinessAccount, today: datetime.date, grain: str) -> ReturnsReport:
    """The returns `account` received (delivered) in the twelve months up to `today`, by month,
    week or day, every period present (zero when nothing came). One query over the rollup."""
    grain = Grain.parse(grain)
    first, last = report_window(today)
    rows = DailyReturns.objects.filter(account=account, day__gte=first, day__lte=last)
    if grain == Grain.MONTH:
        rows = rows.annotate(period=TruncMonth("day"))
    elif grain == Grain.WEEK:
        rows = rows.annotate(period=TruncWeek("day"))
    else:
        rows = rows.annotate(period=F("day"))
    counted = {
        _as_date(row["period"]): row["delivered"] or 0
        for row in rows.values("period").annotate(delivered=Sum("delivered")).order_by()
    }
    openings = _openings(grain, first, last)
    ends = [*(day - datetime.timedelta(days=1) for day in openings[1:]), last]
    periods = [
        ReportPeriod(
            grain=grain,
            start=max(opens, first),
            end=end,
            delivered=counted.get(opens, 0),
            opens=opens,
        )
        for opens, end in zip(openings, ends, strict=True)
    ]
    return ReturnsReport(grain=grain, first_day=first, last_day=last, periods=periods)


def _as_date(value: datetime.date | datetime.datetime) -> datetime.date:
    # Truncating a date gives a date on every backend Django supports; be lenient all the same.
    return value.date() if isinstance(value, datetime.datetime) else value


# --- downloads ---------------------------------------------------------------------------------


def xlsx_response(
    filename: str, sheet: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]
) -> HttpResponse:
    """An Excel workbook of one sheet: the header in bold, dates as dates, numbers as numbers,
    and every text cell neutralised like the CSV's (portal.exports.safe_cell), so none runs as
    a formula."""
    workbook = Workbook()
    worksheet = workbook.active
    assert worksheet is not None  # a new workbook always has its first sheet
    worksheet.title = str(sheet)[:31]  # the portal's own words: a sheet's name runs nothing
    worksheet.append([safe_cell(str(cell)) for cell in header])
    for cell in worksheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        worksheet.append([_xlsx_value(value) for value in row])
    for row_cells in worksheet.iter_rows(min_row=2):
        for cell in row_cells:
            if isinstance(cell.value, datetime.date):
                cell.number_format = "yyyy-mm-dd"
    for column in worksheet.columns:
        letter = column[0].column_letter
        widest = max(len(str(cell.value or "")) for cell in column)
        worksheet.column_dimensions[letter].width = min(max(widest + 2, 10), 60)
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, datetime.date | bool):
        return value
    return safe_cell(value)


def _download(
    file_format: str, filename: str, sheet: str, header: list[str], rows: list[list[Any]]
) -> HttpResponse:
    if file_format == "xlsx":
        return xlsx_response(f"{filename}.xlsx", sheet, header, rows)
    # Dates as ISO text in the CSV: spreadsheets read them as dates.
    return csv_response(
        f"{filename}.csv",
        header,
        [[v.isoformat() if isinstance(v, datetime.date) else v for v in row] for row in rows],
    )


def forecast_download(
    account: BusinessAccount, forecast: Forecast, file_format: str
) -> HttpResponse:
    """The forecast as `file_format` ("csv" or "xlsx"), one row per business day."""
    header = [
        _("Day"),
        _("Date"),
        _("Low estimate"),
        _("High estimate"),
        _("On track"),
        _("In exception"),
        _("Late"),
        _("Holiday in"),
    ]
    rows = [
        [
            day.label,
            day.day,
            day.low,
            day.high,
            day.on_track,
            day.exceptions,
            day.late,
            ", ".join(day.closed_in),
        ]
        for day in forecast.days
    ]
    rows.append([_("Total"), "", forecast.low, forecast.high, "", "", "", ""])
    filename = f"returns-forecast-{account.customer_number}"
    return _download(file_format, filename, _("Forecast"), header, rows)


def report_download(
    account: BusinessAccount, report: ReturnsReport, file_format: str
) -> HttpResponse:
    """The report as `file_format` ("csv" or "xlsx"), one row per period and a total."""
    header = [_("Period"), _("First day"), _("Last day"), _("Returns received")]
    rows: list[list[Any]] = [
        [period.label, period.start, period.end, period.delivered] for period in report.periods
    ]
    rows.append([_("Total"), report.first_day, report.last_day, report.total])
    filename = f"returns-report-{account.customer_number}-{report.grain}"
    return _download(file_format, filename, _("Returns received"), header, rows)
