"""Placeholder: being written; every view answers 404 until then."""

from typing import Any

from django.http import Http404


def policy_list(request: Any, *args: Any, **kwargs: Any) -> Any:
    raise Http404


def policy_create(request: Any, *args: Any, **kwargs: Any) -> Any:
    raise Http404


def policy_detail(request: Any, *args: Any, **kwargs: Any) -> Any:
    raise Http404


def policy_edit(request: Any, *args: Any, **kwargs: Any) -> Any:
    raise Http404


def policy_activate(request: Any, *args: Any, **kwargs: Any) -> Any:
    raise Http404


def policy_deactivate(request: Any, *args: Any, **kwargs: Any) -> Any:
    raise Http404


def policy_delete(request: Any, *args: Any, **kwargs: Any) -> Any:
    raise Http404
