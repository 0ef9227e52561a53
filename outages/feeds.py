"""The maintenance windows for machines: an iCalendar feed, an Atom feed and a JSON document.

Times are UTC (the iCalendar "Z" form, ISO 8601 with "Z"); texts are in the request's language,
which `?lang=fr` chooses for calendar apps that send no language.
"""

import datetime
from typing import Any

from django.contrib.syndication.views import Feed
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from outages import selectors
from outages.models import Interruption, MaintenanceWindow
from portal.formatting import format_span

PRODUCT_ID = "-//Business Portal//Maintenance windows//EN"


def utc_iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def feed_host(request: HttpRequest) -> str:
    """The host part of stable identifiers: the site's name, without a port."""
    return request.get_host().rsplit(":", 1)[0]


def calendar_bytes(request: HttpRequest, windows: list[MaintenanceWindow]) -> bytes:
    """One VEVENT per interruption; SEQUENCE follows the window's revision so apps update it."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", _("Service interruptions"))
    status_url = request.build_absolute_uri(reverse("outages:status"))
    for window in windows:
        for interruption in window.interruptions.all():
            calendar.add_component(_event(request, window, interruption, status_url))
    return calendar.to_ical()


def _event(
    request: HttpRequest, window: MaintenanceWindow, interruption: Interruption, status_url: str
) -> Event:
    event = Event()
    event.add("uid", f"interruption-{interruption.pk}@{feed_host(request)}")
    event.add("dtstamp", window.updated_at.astimezone(datetime.UTC))
    event.add("last-modified", window.updated_at.astimezone(datetime.UTC))
    event.add("dtstart", interruption.starts_at.astimezone(datetime.UTC))
    event.add("dtend", interruption.ends_at.astimezone(datetime.UTC))
    event.add("sequence", window.revision - 1)
    summary = _("Maintenance: %(application)s") % {"application": interruption.application}
    event.add("summary", summary)
    event.add("description", _description(window, interruption, status_url))
    event.add("status", "CANCELLED" if window.cancelled_at else "CONFIRMED")
    event.add("transp", "TRANSPARENT")  # a service being down does not make anyone busy
    event.add("url", status_url)
    return event


def _description(window: MaintenanceWindow, interruption: Interruption, status_url: str) -> str:
    lines = [
        window.title,
        interruption.description,
        format_span(interruption.starts_at, interruption.ends_at),
    ]
    if interruption.features:
        features = ", ".join(interruption.feature_labels())
        lines.append(_("Portal capabilities turned off: %(features)s") % {"features": features})
    if window.cancelled_at:
        lines.insert(0, _("Cancelled: the services stay available."))
    lines.append(status_url)
    return "\n".join(lines)


class WindowAtomFeed(Feed):
    """One entry per window, updated when staff change it. Made per request (it keeps it)."""

    feed_type = Atom1Feed
    item_guid_is_permalink = False

    def __init__(self, *, request: HttpRequest) -> None:
        self.request = request

    def title(self) -> str:
        return _("Service interruptions")

    def subtitle(self) -> str:
        return _("Planned maintenance of the business portal. Times are Eastern Time.")

    def link(self) -> str:
        return reverse("outages:status")

    def items(self) -> list[MaintenanceWindow]:
        return list(selectors.feed_windows())

    def item_title(self, item: MaintenanceWindow) -> str:
        title = f"{item.title} — {format_span(item.starts_at, item.ends_at)}"
        if item.cancelled_at:
            return _("Cancelled: %(title)s") % {"title": title}
        return title

    def item_description(self, item: MaintenanceWindow) -> str:
        return render_to_string("outages/feed_item.html", {"window": item}, request=self.request)

    def item_link(self, item: MaintenanceWindow) -> str:
        page = "outages:status" if item.ends_at > timezone.now() else "outages:archive"
        return f"{reverse(page)}#window-{item.pk}"

    def item_guid(self, item: MaintenanceWindow) -> str:
        return f"tag:{feed_host(self.request)},2026:outages/window/{item.pk}"

    def item_pubdate(self, item: MaintenanceWindow) -> datetime.datetime:
        return item.created_at

    def item_updateddate(self, item: MaintenanceWindow) -> datetime.datetime:
        return item.updated_at


def interruptions_document(request: HttpRequest) -> dict[str, Any]:
    """Current and upcoming interruptions for scripts and monitoring."""
    now = timezone.now()
    return {
        "generated_at": utc_iso(now),
        "status_page": request.build_absolute_uri(reverse("outages:status")),
        "interruptions": [
            _interruption_json(i, now) for i in selectors.current_and_upcoming_interruptions(at=now)
        ],
    }


def _interruption_json(interruption: Interruption, now: datetime.datetime) -> dict[str, Any]:
    window = interruption.window
    return {
        "id": interruption.pk,
        "application": interruption.application,
        "description": interruption.description,
        "starts_at": utc_iso(interruption.starts_at),
        "ends_at": utc_iso(interruption.ends_at),
        "features": sorted(interruption.features),
        "scope": interruption.scope,
        "state": interruption.state_at(now).value,
        "window": {
            "id": window.pk,
            "title": window.title,
            "state": window.state_at(now).value,
            "revision": window.revision,
        },
    }
