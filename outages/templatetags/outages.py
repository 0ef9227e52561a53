import datetime
import functools

from django import template
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import SafeString

from outages import gate
from outages.features import Feature
from outages.models import Interruption
from portal import formatting

register = template.Library()


@register.simple_tag
def closure_for(feature: str, write: bool = True) -> gate.Closure | None:
    """`{% closure_for "online_payment" as payment_down %}`: disable the button, say why."""
    return gate.closure_for(Feature(feature), write=write)


@register.simple_tag
def maintenance_banner(windows: list[gate.WindowSummary] | str) -> str:
    """`{% maintenance_banner maintenance_announced %}`: the banner on top of every page.

    It is the same for every reader, so each process renders it once for each set of windows,
    language and year (its dates leave out the current year): a page then costs a lookup, not
    a loop of date formatting.
    """
    if not windows:
        return ""
    year = formatting.to_eastern(timezone.now()).year
    return _banner(tuple(windows), translation.get_language(), year)


@functools.lru_cache(maxsize=64)
def _banner(windows: tuple[gate.WindowSummary, ...], language: str, year: int) -> SafeString:
    return render_to_string("outages/banner.html", {"maintenance_announced": windows})


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
