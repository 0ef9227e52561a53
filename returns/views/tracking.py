"""Placeholder: being written; every view answers 404 until then."""

from typing import Any

from django.http import Http404


def receive_events(request: Any, *args: Any, **kwargs: Any) -> Any:
    raise Http404
