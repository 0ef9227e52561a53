"""The public "Service interruptions" page and its archive, in both languages."""

import datetime
import html
import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from outages import gate, services
from outages.views import STATUS_PAGE_SIZE
from portal.formatting import EASTERN
from tests.outages.factories import HOUR, InterruptionFactory, MaintenanceWindowFactory

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


def text_of(response) -> str:
    """What a reader sees: the text without tags, its spaces collapsed."""
    return " ".join(html.unescape(strip_tags(response.content.decode())).split())


def june_window(year: int):
    """The source page's shape: a window with a registration row, on this year's dates."""
    window = MaintenanceWindowFactory.create(
        title_en="System upgrade",
        title_fr="Mise à niveau du système",
        starts_at=datetime.datetime(year, 6, 22, 23, 59, tzinfo=EASTERN),
        ends_at=datetime.datetime(year, 7, 2, 7, 0, tzinfo=EASTERN),
    )
    InterruptionFactory.create(
        window=window,
        starts_at=datetime.datetime(year, 6, 25, 23, 59, tzinfo=EASTERN),
        ends_at=datetime.datetime(year, 7, 2, 7, 0, tzinfo=EASTERN),
    )
    return window


@pytest.fixture
def upcoming_june():
    """Next June if this one is over; the year then shows, so tests compare with it."""
    today = timezone.localdate()
    year = today.year if today < datetime.date(today.year, 6, 20) else today.year + 1
    return june_window(year), "" if year == today.year else f" {year}"


def test_status_page_table_in_english(client, upcoming_june):
    _, year = upcoming_june

    response = client.get(reverse("outages:status"))
    text = text_of(response)

    assert "Service interruptions" in text
    headers = re.findall(r'<th scope="col"[^>]*>([^<]+)</th>', response.content.decode())
    assert headers[:3] == ["Application", "Interruption", "Duration"]
    # The rows read as the source table; the heading carries the year when it is not this one.
    assert (
        "Registration New profiles cannot be created. June 25, 11:59 p.m. to July 2, 7 a.m. (ET)"
    ) in text
    comma_year = f",{year}" if year else ""
    assert f"June 22{comma_year}, 11:59 p.m. to July 2{comma_year}, 7 a.m. (ET)" in text
    assert "Upcoming" in text


def test_status_page_table_in_french(french, upcoming_june):
    _, year = upcoming_june

    text = text_of(french.get(reverse("outages:status")))

    assert "Mise à niveau du système" in text
    assert "Inscription Il n'est pas possible de créer de nouveaux profils. " in text
    assert "Du 25 juin, 23 h 59 au 2 juillet, 7 h (HE)" in text
    assert f"Du 22 juin{year}, 23 h 59 au 2 juillet{year}, 7 h (HE)" in text


def test_a_cancelled_window_says_so(client):
    window = MaintenanceWindowFactory.create()
    services.cancel_window(window=window, actor=None)

    text = text_of(client.get(reverse("outages:status")))

    assert "Cancelled" in text
    assert "the services stay available" in text


def test_an_extended_window_says_when_it_now_ends(client, time_machine):
    # A fixed clock: an end on the hour could otherwise land on "midnight" or "noon".
    time_machine.move_to(datetime.datetime(2031, 3, 10, 9, 30, tzinfo=EASTERN), tick=False)
    starts = datetime.datetime(2031, 3, 11, 9, 0, tzinfo=EASTERN)
    window = MaintenanceWindowFactory.create(starts_at=starts, ends_at=starts + 2 * HOUR)
    InterruptionFactory.create(window=window)
    services.reschedule_window(
        window=window, starts_at=starts, ends_at=starts + 5 * HOUR, actor=None
    )

    text = text_of(client.get(reverse("outages:status")))

    assert "Extended: now ends March 11, 2 p.m. (ET)" in text
    assert "(was March 11, 11 a.m. (ET))" in text


def test_a_moved_window_says_from_what_to_what(client):
    window = MaintenanceWindowFactory.create()
    services.reschedule_window(
        window=window, starts_at=window.starts_at + DAY, ends_at=window.ends_at + DAY, actor=None
    )

    assert "Moved: now " in text_of(client.get(reverse("outages:status")))


def test_past_windows_go_to_the_archive(client):
    now = timezone.now()
    MaintenanceWindowFactory.create(
        title_en="Last month", starts_at=now - 30 * DAY, ends_at=now - 29 * DAY
    )
    MaintenanceWindowFactory.create(title_en="Next week")

    status = client.get(reverse("outages:status"))
    archive = client.get(reverse("outages:archive"))

    assert [str(w) for w in status.context["windows"]] == ["Next week"]
    assert [str(w) for w in archive.context["windows"]] == ["Last month"]
    assert "Completed" in text_of(archive)


def test_status_page_links_its_feeds(client):
    text = client.get(reverse("outages:status")).content.decode()

    for name in ("outages:ical", "outages:atom", "outages:json"):
        assert f'href="{reverse(name)}' in text
    assert 'rel="alternate" type="application/atom+xml"' in text


@pytest.mark.parametrize("window_count", [1, 14])
def test_status_page_query_count_does_not_grow_with_windows(
    client, django_assert_num_queries, window_count
):
    for _ in range(window_count):
        window = MaintenanceWindowFactory.create()
        InterruptionFactory.create_batch(3, window=window)
        services.reschedule_window(
            window=window, starts_at=window.starts_at, ends_at=window.ends_at + HOUR, actor=None
        )
    cache.delete(gate.SNAPSHOT_KEY)

    shown = min(window_count, STATUS_PAGE_SIZE)

    # Pinned, on a cold cache: the gate snapshot (2), the page count (kept for the page number)
    # and the paginator's own, then a page of windows, their interruptions and changes.
    with django_assert_num_queries(7):
        response = client.get(reverse("outages:status"))
    assert response.content.decode().count("Extended: now ends") == shown

    # Then the tables come from the cache until staff change a window.
    with django_assert_num_queries(0):
        again = client.get(reverse("outages:status"))
    assert again.content.decode().count("Extended: now ends") == shown


def test_the_status_page_pages_through_planned_windows_soonest_first(client):
    now = timezone.now()
    for days in range(STATUS_PAGE_SIZE + 3):
        MaintenanceWindowFactory.create(
            title_en=f"Planned {days:02}", starts_at=now + (days + 1) * DAY,
            ends_at=now + (days + 1) * DAY + HOUR,
        )  # fmt: skip

    first = text_of(client.get(reverse("outages:status")))
    later = text_of(client.get(reverse("outages:status"), {"page": "2"}))
    beyond = text_of(client.get(reverse("outages:status"), {"page": "99"}))

    assert "Planned 00" in first and f"Planned {STATUS_PAGE_SIZE - 1:02}" in first
    assert f"Planned {STATUS_PAGE_SIZE:02}" not in first and "Later" in first
    assert f"Planned {STATUS_PAGE_SIZE + 2:02}" in later and "Sooner" in later
    assert f"Planned {STATUS_PAGE_SIZE - 1:02}" not in later  # (the banner shows the next week)
    assert beyond == later  # out of range: the last page


def test_status_tables_show_a_staff_change_at_once(client, django_capture_on_commit_callbacks):
    window = MaintenanceWindowFactory.create(title_en="Before")
    client.get(reverse("outages:status"))

    window.title_en = "After"
    with django_capture_on_commit_callbacks(execute=True):
        window.save()

    assert "After" in client.get(reverse("outages:status")).content.decode()


def test_archive_pages_through_older_windows(client):
    now = timezone.now()
    for days in range(25):
        MaintenanceWindowFactory.create(
            starts_at=now - (days + 2) * DAY, ends_at=now - (days + 1) * DAY
        )

    first = client.get(reverse("outages:archive"))
    second = client.get(reverse("outages:archive"), {"page": 2})

    assert len(first.context["windows"]) == 20
    assert len(second.context["windows"]) == 5


def past_windows(count: int) -> None:
    now = timezone.now()
    for days in range(count):
        MaintenanceWindowFactory.create(
            title_en=f"Past {days}",
            starts_at=now - (days + 2) * DAY,
            ends_at=now - (days + 1) * DAY,
        )


@pytest.mark.parametrize("asked", ["2", "999", "0", "-1"])
def test_an_archive_page_comes_from_the_cache_once_rendered(
    client, django_assert_num_queries, asked
):
    past_windows(25)
    client.get(reverse("outages:status"))  # the gate's snapshot is in the cache
    first = client.get(reverse("outages:archive"), {"page": asked})

    with django_assert_num_queries(0):
        again = client.get(reverse("outages:archive"), {"page": asked})
        last = client.get(reverse("outages:archive"), {"page": "2"})  # out of range: the last one

    assert "Past 24" in text_of(first)  # the oldest, on the last page
    assert text_of(again) == text_of(first) == text_of(last)


def test_junk_page_numbers_share_the_first_page(client, django_assert_num_queries):
    past_windows(3)
    client.get(reverse("outages:archive"))

    with django_assert_num_queries(0):
        junk = client.get(reverse("outages:archive"), {"page": "x' OR 1=1"})

    assert "Past 0" in text_of(junk)


def test_the_archive_is_cached_per_language(client):
    past_windows(1)
    english = text_of(client.get(reverse("outages:archive")))
    french = text_of(client.get(reverse("outages:archive"), HTTP_ACCEPT_LANGUAGE="fr"))

    assert "Past service interruptions" in english
    assert "Completed" in english and "Completed" not in french


def test_the_archive_shows_a_staff_change_at_once(client, django_capture_on_commit_callbacks):
    past_windows(1)
    window = MaintenanceWindowFactory._meta.model.objects.get()
    client.get(reverse("outages:archive"))

    window.title_en = "Renamed"
    with django_capture_on_commit_callbacks(execute=True):
        window.save()

    assert "Renamed" in text_of(client.get(reverse("outages:archive")))
