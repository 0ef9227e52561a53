import datetime

from django import template

from outages import gate
from outages.features import Feature
from outages.models import Interruption
from portal import formatting

register = template.Library()


@register.simple_tag
def closure_for(feature: str, write: bool = True) -> gate.Closure | None:
    """`{% closure_for "online_payment" as payment_down %}`: disable the button, say why."""
    return gate.closure_for(Feature(feature), write=write)


@register.filter
def eastern_span(starts_at: datetime.datetime, ends_at: datetime.datetime) -> str:
    return formatting.format_span(starts_at, ends_at)


@register.filter
def table_span(interruption: Interruption) -> str:
    """An interruption's duration under its window's heading, which already gives the year."""
    window_year = formatting.to_eastern(interruption.window.starts_at).year
    return formatting.format_span(
        interruption.starts_at, interruption.ends_at, known_year=window_year
    )


@register.filter
def eastern_span_inline(starts_at: datetime.datetime, ends_at: datetime.datetime) -> str:
    """The same, for the middle of a sentence ("du 25 juin, …")."""
    return formatting.format_span(starts_at, ends_at, inline=True)


@register.filter
def eastern_moment(moment: datetime.datetime) -> str:
    return formatting.format_moment(moment)


@register.filter
def eastern_until(moment: datetime.datetime) -> str:
    return formatting.format_until(moment)


@register.filter
def in_language(item: object, field: str) -> str:
    """`{{ span|in_language:"application" }}` picks `application_fr` on a French page."""
    from django.utils.translation import get_language

    french = (get_language() or "en").startswith("fr")
    return str(
        getattr(item, f"{field}_fr" if french else f"{field}_en", "")
        or getattr(item, f"{field}_en", "")
    )
