"""Who a maintenance window concerns, as the apps that own the capabilities say.

outages knows only the capabilities everyone uses (features.EVERYONE_FEATURES). For the others
an app registers, from its AppConfig.ready(), an audience: a callable that takes the window's
feature codes and returns the users those capabilities concern (an empty queryset when none of
them is its own). A window concerns the union of what the audiences return; with no audience
registered it concerns nobody beyond the everyone-features. outages thereby imports no app.
"""

from collections.abc import Callable
from typing import Any

from django.db.models import Q, QuerySet

Audience = Callable[[frozenset[str]], "QuerySet[Any]"]

_audiences: list[Audience] = []


def register_audience(audience: Audience) -> Audience:
    """Add `audience` (once, so a ready() run twice in tests does not double it)."""
    if audience not in _audiences:
        _audiences.append(audience)
    return audience


def concerned(features: frozenset[str]) -> Q:
    """A filter on users: those some registered audience says `features` concern."""
    condition = Q(pk__in=[])
    for audience in _audiences:
        condition |= Q(pk__in=audience(features).values("pk"))
    return condition
