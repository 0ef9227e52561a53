"""Placeholder: being written; every view answers 404 until then."""

from typing import Any

from django.http import Http404


def settings_page(request: Any, *args: Any, **kwargs: Any) -> Any:
    raise Http404


def remove_recipient(request: Any, *args: Any, **kwargs: Any) -> Any:
    raise Http404


def unsubscribe(request: Any, *args: Any, **kwargs: Any) -> Any:
    raise Http404
