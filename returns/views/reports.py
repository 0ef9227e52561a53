"""Placeholder: being written; every view answers 404 until then."""

from typing import Any

from django.http import Http404


def forecast(request: Any, *args: Any, **kwargs: Any) -> Any:
    raise Http404


def forecast_download(request: Any, *args: Any, **kwargs: Any) -> Any:
    raise Http404


def report(request: Any, *args: Any, **kwargs: Any) -> Any:
    raise Http404


def report_download(request: Any, *args: Any, **kwargs: Any) -> Any:
    raise Http404
