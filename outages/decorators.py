"""The gate at the door of a view: 503 with Retry-After and a page that says what and until when."""

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from outages import gate
from outages.features import Feature

View = Callable[..., HttpResponse]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_write(request: HttpRequest) -> bool:
    return request.method not in SAFE_METHODS


def closed_response(request: HttpRequest, closure: gate.Closure) -> HttpResponse:
    response = render(request, "outages/closed.html", {"closure": closure}, status=503)
    response["Retry-After"] = str(closure.retry_after_seconds())
    return response


def feature_required(feature: Feature, *, write: bool | None = None) -> Callable[[View], View]:
    """Refuse the view while `feature` is interrupted.

    `write=None` reads the method: GET and HEAD only read, so a read-only interruption lets them
    through (invoices stay viewable while payment is off).
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            writing = is_write(request) if write is None else write
            closure = gate.closure_for(feature, write=writing)
            if closure is not None:
                return closed_response(request, closure)
            return view(request, *args, **kwargs)

        wrapped.gated_feature = feature  # type: ignore[attr-defined]
        return wrapped

    return decorate


class FeatureRequiredMixin:
    """Class-based twin of `feature_required`."""

    gated_feature: Feature

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        closure = gate.closure_for(self.gated_feature, write=is_write(request))
        if closure is not None:
            return closed_response(request, closure)
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
