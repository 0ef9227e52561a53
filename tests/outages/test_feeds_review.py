"""Review of the feeds (issue 9, item 18): the language they say they speak, a LAST-MODIFIED that
only moves when the window does, and windows that staff cancel rather than delete."""

import datetime

import pytest
import time_machine
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from outages.models import MaintenanceWindow
from outages.views import FEED_CACHE_SECONDS
from tests.outages.factories import HOUR, InterruptionFactory, MaintenanceWindowFactory
from tests.outages.test_admin import errors_of, window_data

pytestmark = pytest.mark.django_db
FEEDS = ["outages:ical", "outages:atom", "outages:json"]
WINDOW_TEXTS = ["title_en", "title_fr", "summary_en", "summary_fr"]


@pytest.fixture
def window() -> MaintenanceWindow:
    starts_at = timezone.now().replace(microsecond=0) + 24 * HOUR  # as staff type it
    planned = MaintenanceWindowFactory.create(
        title_en="Upgrade", title_fr="Mise à niveau", starts_at=starts_at
    )
    InterruptionFactory.create(window=planned)
    return planned


def events(response) -> list:
    return list(Calendar.from_ical(response.content).walk("VEVENT"))


# --- Content-Language ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", FEEDS)
def test_a_feed_asked_in_french_says_it_is_in_french(client, window, name):
    response = client.get(reverse(name), {"lang": "fr"})

    assert response.status_code == 200
    assert response["Content-Language"] == "fr"


@pytest.mark.parametrize("name", FEEDS)
def test_each_language_is_cached_apart_with_its_own_header(client, window, name):
    """The cached copy of one language is never served, or labelled, as the other."""
    first_fr = client.get(reverse(name), {"lang": "fr"})
    first_en = client.get(reverse(name), {"lang": "en"})
    again_fr = client.get(reverse(name), {"lang": "fr"})
    again_en = client.get(reverse(name), {"lang": "en"})
    plain_en = client.get(reverse(name), HTTP_ACCEPT_LANGUAGE="en")
    by_browser = client.get(reverse(name), HTTP_ACCEPT_LANGUAGE="fr")

    assert (first_fr["Content-Language"], again_fr["Content-Language"]) == ("fr", "fr")
    assert (first_en["Content-Language"], again_en["Content-Language"]) == ("en", "en")
    assert (plain_en["Content-Language"], by_browser["Content-Language"]) == ("en", "fr")
    assert by_browser.content != plain_en.content
    assert again_fr.content == first_fr.content != first_en.content == again_en.content


def test_the_french_calendar_is_in_french(client, window):
    response = client.get(reverse("outages:ical"), {"lang": "fr"})

    assert str(events(response)[0]["SUMMARY"]) == "Entretien\u00a0: Inscription"
    assert response["Content-Language"] == "fr"


# --- LAST-MODIFIED ------------------------------------------------------------------------------


def test_last_modified_stays_the_same_from_one_fetch_to_the_next(client, window):
    first = events(client.get(reverse("outages:ical")))[0]

    later = timezone.now() + datetime.timedelta(seconds=FEED_CACHE_SECONDS * 10)
    with time_machine.travel(later):
        again = events(client.get(reverse("outages:ical")))[0]

    stored = window.updated_at.replace(microsecond=0)
    assert first.decoded("LAST-MODIFIED") == again.decoded("LAST-MODIFIED") == stored
    assert first.decoded("DTSTAMP") == again.decoded("DTSTAMP") == stored


def test_editing_an_interruption_in_the_admin_moves_last_modified(client, mfa_staff_user, window):
    interruption = window.interruptions.get()
    before = events(client.get(reverse("outages:ical"), {"lang": "en"}))[0]
    data = window_data(
        window.starts_at,
        window.ends_at,
        [{"starts": window.starts_at, "ends": window.ends_at, "pk": interruption.pk}],
        initial=1,
    )
    data.update({field: getattr(window, field) for field in WINDOW_TEXTS})  # only the inline
    data["interruptions-0-window"] = str(window.pk)
    data["interruptions-0-description_en"] = "Profiles can be created again at noon."
    client.force_login(mfa_staff_user.user)

    with time_machine.travel(timezone.now() + 2 * HOUR):
        saved = client.post(
            reverse("admin:outages_maintenancewindow_change", args=[window.pk]), data
        )
        client.logout()
        after = events(client.get(reverse("outages:ical"), {"lang": "en"}))[0]

    assert saved.status_code == 302, errors_of(saved)
    assert "noon" in str(after["DESCRIPTION"])
    assert after.decoded("LAST-MODIFIED") > before.decoded("LAST-MODIFIED")


# --- no hard delete -----------------------------------------------------------------------------


def test_staff_cannot_delete_a_window_in_the_admin(client, mfa_staff_user, window):
    client.force_login(mfa_staff_user.user)

    page = client.get(reverse("admin:outages_maintenancewindow_delete", args=[window.pk]))
    posted = client.post(
        reverse("admin:outages_maintenancewindow_delete", args=[window.pk]), {"post": "yes"}
    )
    bulk = client.post(
        reverse("admin:outages_maintenancewindow_changelist"),
        {"action": "delete_selected", "_selected_action": [window.pk], "post": "yes"},
    )

    assert (page.status_code, posted.status_code) == (403, 403)
    assert bulk.status_code in (200, 302)  # "no action selected": nothing happens
    assert MaintenanceWindow.objects.filter(pk=window.pk).exists()
    assert window.interruptions.count() == 1


def test_the_admin_offers_cancelling_not_deleting(client, mfa_staff_user, window):
    client.force_login(mfa_staff_user.user)
    request = RequestFactory().get("/")
    request.user = mfa_staff_user.user
    model_admin = admin.site._registry[MaintenanceWindow]

    actions = model_admin.get_actions(request)
    change_page = client.get(
        reverse("admin:outages_maintenancewindow_change", args=[window.pk])
    ).content.decode()

    assert "cancel_windows" in actions and "delete_selected" not in actions
    assert reverse("admin:outages_maintenancewindow_delete", args=[window.pk]) not in change_page
    assert 'name="interruptions-0-DELETE"' not in change_page


def test_an_interruption_of_a_saved_window_cannot_be_deleted_through_the_inline(
    client, mfa_staff_user, window
):
    interruption = window.interruptions.get()
    other = InterruptionFactory.create(window=window, application_en="Billing")
    data = window_data(
        window.starts_at,
        window.ends_at,
        [
            {"starts": window.starts_at, "ends": window.ends_at, "pk": interruption.pk},
            {
                "starts": window.starts_at,
                "ends": window.ends_at,
                "pk": other.pk,
                "application": "Billing",
            },
        ],
        initial=2,
    )
    data.update({f"interruptions-{i}-window": str(window.pk) for i in range(2)})
    data["interruptions-1-DELETE"] = "on"
    client.force_login(mfa_staff_user.user)

    saved = client.post(reverse("admin:outages_maintenancewindow_change", args=[window.pk]), data)

    assert saved.status_code == 302, errors_of(saved)
    assert window.interruptions.count() == 2


def test_a_cancelled_window_stays_in_the_calendar_as_cancelled(client, mfa_staff_user, window):
    client.force_login(mfa_staff_user.user)
    changelist = reverse("admin:outages_maintenancewindow_changelist")
    selection = {"action": "cancel_windows", "_selected_action": [window.pk], "confirm": "yes"}

    client.post(changelist, selection)
    client.logout()
    later = timezone.now() + datetime.timedelta(seconds=FEED_CACHE_SECONDS + 1)
    with time_machine.travel(later):
        response = client.get(reverse("outages:ical"))

    assert [str(event["STATUS"]) for event in events(response)] == ["CANCELLED"]
