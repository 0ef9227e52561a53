"""The returns forecast (next five business days) and the 12-month report of returns received,
each as a page (chart and table) and as CSV or XLSX.

CONSULT on the whole account reads them: they count every return of the account, whichever
agreement or card pays for it. Everything is under RETURNS_REPORTS; the pages work without
JavaScript (the grain is a link, the charts are images).
"""

import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts import rights
from accounts.models import BusinessAccount, Right
from outages.decorators import feature_required
from outages.features import Feature
from portal import fragments
from portal.formatting import to_eastern
from returns import charts, reports

FORMATS = ("csv", "xlsx")


def _account(request: Any, account_id: int) -> BusinessAccount:
    return rights.get_account_or_404(request.user, Right.CONSULT, account_id, whole=True)


def _today() -> datetime.date:
    return to_eastern(timezone.now()).date()


def _format(file_format: str) -> str:
    if file_format not in FORMATS:
        raise Http404
    return file_format


@login_required
@feature_required(Feature.RETURNS_REPORTS)
@require_GET
def forecast(request: Any, account_id: int) -> HttpResponse:
    account = _account(request, account_id)
    today = _today()
    result = fragments.lazy(lambda: reports.arrivals_forecast(account, today))
    context = {
        "account": account,
        "fragment_key": fragments.for_account(request, account.pk, today),
        "forecast": result,
        "chart": fragments.lazy(lambda: charts.forecast_chart(result)),
        "formats": FORMATS,
    }
    return render(request, "returns/reports/forecast.html", context)


@login_required
@feature_required(Feature.RETURNS_REPORTS)
@require_GET
def forecast_download(request: Any, account_id: int, file_format: str) -> HttpResponse:
    account = _account(request, account_id)
    file_format = _format(file_format)
    result = reports.arrivals_forecast(account, _today())
    return reports.forecast_download(account, result, file_format)


@login_required
@feature_required(Feature.RETURNS_REPORTS)
@require_GET
def report(request: Any, account_id: int) -> HttpResponse:
    account = _account(request, account_id)
    today, grain = _today(), reports.Grain.parse(request.GET.get("grain"))
    result = fragments.lazy(lambda: reports.returns_report(account, today, grain))
    context = {
        "account": account,
        "fragment_key": fragments.for_account(request, account.pk, today),
        "report": result,
        "chart": fragments.lazy(lambda: charts.report_chart(result)),
        "grains": [(grain, reports.Grain.NAMES[grain]) for grain in reports.Grain.ALL],
        # A day is its own first and last day: its rows need two columns, not four, and stay
        # rows on a phone (365 of them, stacked as cards, were a long scroll).
        "by_day": grain == reports.Grain.DAY,
        "formats": FORMATS,
    }
    return render(request, "returns/reports/report.html", context)


@login_required
@feature_required(Feature.RETURNS_REPORTS)
@require_GET
def report_download(request: Any, account_id: int, file_format: str) -> HttpResponse:
    account = _account(request, account_id)
    file_format = _format(file_format)
    grain = reports.Grain.parse(request.GET.get("grain"))
    return reports.report_download(
        account, reports.returns_report(account, _today(), grain), file_format
    )
