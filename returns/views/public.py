"""Placeholder: being written; every view answers 404 until then."""

from typing import Any

from django.http import Http404


def direct_link(request: Any, *args: Any, **kwargs: Any) -> Any:
    raise Http404


def label_done(request: Any, *args: Any, **kwargs: Any) -> Any:
    raise Http404


def label_pdf(request: Any, *args: Any, **kwargs: Any) -> Any:
    raise Http404
