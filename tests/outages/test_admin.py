"""The support admin: Eastern Time entry (DST-correct), validation, moves and cancellations."""

import datetime
import re
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from outages import gate
from outages.features import Feature
from outages.models import Interruption, MaintenanceNotice, MaintenanceWindow, WindowChange
from portal.formatting import EASTERN
from portal.models import Delivery
from tests.outages.factories import HOUR, InterruptionFactory, MaintenanceWindowFactory

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
DAY = datetime.timedelta(days=1)


@pytest.fixture
def staff_client(client, mfa_staff_user):
    client.force_login(mfa_staff_user.user)
    return client


def split(moment: datetime.datetime | str) -> tuple[str, str]:
    """What staff type in the admin's date and time boxes, in Eastern Time."""
    if isinstance(moment, str):
        day, time = moment.split(" ")
        return day, time
    local = moment.astimezone(EASTERN)
    return local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")


def window_data(
    starts: Any, ends: Any, interruptions: list[dict[str, Any]], *, initial: int = 0
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title_en": "System upgrade",
        "title_fr": "Mise à niveau",
        "summary_en": "",
        "summary_fr": "",
        "starts_at_0": split(starts)[0],
        "starts_at_1": split(starts)[1],
        "ends_at_0": split(ends)[0],
        "ends_at_1": split(ends)[1],
        "interruptions-TOTAL_FORMS": str(len(interruptions)),
        "interruptions-INITIAL_FORMS": str(initial),
        "interruptions-MIN_NUM_FORMS": "0",
        "interruptions-MAX_NUM_FORMS": "1000",
    }
    for index, item in enumerate(interruptions):
        data.update(interruption_data(index, **item))
    return data


def interruption_data(
    index: int,
    *,
    starts: Any,
    ends: Any,
    features: list[str] = ("registration",),  # type: ignore[assignment]
    scope: str = "all",
    pk: int | None = None,
    application: str = "Registration",
) -> dict[str, Any]:
    prefix = f"interruptions-{index}-"
    return {
        prefix + "id": str(pk or ""),
        prefix + "application_en": application,
        prefix + "application_fr": "Inscription",
        prefix + "description_en": "New profiles cannot be created.",
        prefix + "description_fr": "Pas de nouveaux profils.",
        prefix + "starts_at_0": split(starts)[0],
        prefix + "starts_at_1": split(starts)[1],
        prefix + "ends_at_0": split(ends)[0],
        prefix + "ends_at_1": split(ends)[1],
        prefix + "features": list(features),
        prefix + "scope": scope,
    }


def errors_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode().replace("&#x27;", "'"))


def test_times_are_entered_in_eastern_time_and_stored_in_utc_across_the_march_change(
    staff_client,
):
    data = window_data(
        "2026-03-07 12:00:00",
        "2026-03-09 12:00:00",
        # 1 a.m. EST to 4 a.m. EDT: two real hours, over the spring-forward gap
        [{"starts": "2026-03-08 01:00:00", "ends": "2026-03-08 04:00:00"}],
    )

    response = staff_client.post(reverse("admin:outages_maintenancewindow_add"), data)

    assert response.status_code == 302, errors_of(response)
    window = MaintenanceWindow.objects.get()
    assert window.starts_at == datetime.datetime(2026, 3, 7, 17, 0, tzinfo=UTC)  # EST, +5 h
    assert window.ends_at == datetime.datetime(2026, 3, 9, 16, 0, tzinfo=UTC)  # EDT, +4 h
    interruption = window.interruptions.get()
    assert interruption.starts_at == datetime.datetime(2026, 3, 8, 6, 0, tzinfo=UTC)
    assert interruption.ends_at - interruption.starts_at == 2 * HOUR


def test_times_shown_back_in_eastern_time_after_the_november_change(staff_client):
    window = MaintenanceWindowFactory.create(
        starts_at=datetime.datetime(2026, 11, 1, 4, 0, tzinfo=UTC),  # 0 h EDT
        ends_at=datetime.datetime(2026, 11, 1, 12, 0, tzinfo=UTC),  # 7 h EST
    )

    response = staff_client.get(reverse("admin:outages_maintenancewindow_change", args=[window.pk]))

    text = response.content.decode()
    assert 'name="starts_at_1" value="00:00:00"' in text
    assert 'name="ends_at_1" value="07:00:00"' in text


@pytest.mark.parametrize(
    "moment",
    ["2026-03-08 02:30:00", "2026-11-01 01:30:00"],  # does not exist / happens twice
)
def test_a_time_that_does_not_exist_or_is_ambiguous_is_refused(staff_client, moment):
    data = window_data(moment, "2026-11-02 12:00:00", [])

    response = staff_client.post(reverse("admin:outages_maintenancewindow_add"), data)

    assert response.status_code == 200
    assert "couldn\u2019t be interpreted in time zone America/Toronto" in errors_of(response)
    assert not MaintenanceWindow.objects.exists()


def test_the_end_must_come_after_the_start(staff_client):
    data = window_data(
        "2026-06-25 20:00:00",
        "2026-06-25 19:00:00",
        [{"starts": "2026-06-25 20:00:00", "ends": "2026-06-25 20:00:00"}],
    )

    response = staff_client.post(reverse("admin:outages_maintenancewindow_add"), data)

    assert response.status_code == 200
    assert errors_of(response).count("The end must come after the start.") == 2
    assert not MaintenanceWindow.objects.exists()


def test_an_interruption_must_fit_inside_its_window(staff_client):
    year = timezone.localdate().year  # the current year goes unwritten in the message
    data = window_data(
        f"{year}-06-25 20:00:00",
        f"{year}-07-02 07:00:00",
        [{"starts": f"{year}-06-25 20:00:00", "ends": f"{year}-07-02 08:00:00"}],
    )

    response = staff_client.post(reverse("admin:outages_maintenancewindow_add"), data)

    assert response.status_code == 200
    assert (
        "Registration: an interruption must fit inside its window "
        "(June 25, 8 p.m. (ET) to July 2, 7 a.m. (ET))."
    ) in errors_of(response)
    assert not MaintenanceWindow.objects.exists()


def test_overlapping_interruptions_of_one_capability_are_allowed(staff_client):
    data = window_data(
        "2026-06-25 20:00:00",
        "2026-07-02 07:00:00",
        [
            {"starts": "2026-06-25 20:00:00", "ends": "2026-06-30 18:00:00"},
            {"starts": "2026-06-29 20:00:00", "ends": "2026-07-02 07:00:00"},
        ],
    )

    response = staff_client.post(reverse("admin:outages_maintenancewindow_add"), data)

    assert response.status_code == 302, errors_of(response)
    assert Interruption.objects.count() == 2


def test_capabilities_are_ticked_from_the_registry(staff_client):
    response = staff_client.get(reverse("admin:outages_maintenancewindow_add"))

    text = response.content.decode()
    for feature in Feature:
        assert f'value="{feature.value}"' in text
        assert str(feature.label) in text


def test_features_and_scope_are_saved(staff_client):
    data = window_data(
        "2026-06-25 20:00:00",
        "2026-07-02 07:00:00",
        [
            {
                "starts": "2026-06-25 22:00:00",
                "ends": "2026-06-30 18:00:00",
                "features": ["invoices", "online_payment"],
                "scope": "writes",
            }
        ],
    )

    assert (
        staff_client.post(reverse("admin:outages_maintenancewindow_add"), data).status_code == 302
    )

    interruption = Interruption.objects.get()
    assert interruption.features == ["invoices", "online_payment"]
    assert interruption.scope == Interruption.Scope.WRITES


def _existing(window: MaintenanceWindow) -> list[dict[str, Any]]:
    return [
        {"starts": i.starts_at, "ends": i.ends_at, "pk": i.pk, "features": i.features}
        for i in window.interruptions.order_by("pk")
    ]


def test_extending_a_window_goes_through_the_service(staff_client, mfa_staff_user):
    now = timezone.now().replace(microsecond=0, second=0)
    window = MaintenanceWindowFactory.create(starts_at=now + DAY, ends_at=now + DAY + 4 * HOUR)
    whole = InterruptionFactory.create(window=window)
    inner = InterruptionFactory.create(window=window, ends_at=window.starts_at + HOUR)
    data = window_data(window.starts_at, window.ends_at + 2 * HOUR, _existing(window), initial=2)

    response = staff_client.post(
        reverse("admin:outages_maintenancewindow_change", args=[window.pk]), data
    )

    assert response.status_code == 302, errors_of(response)
    window.refresh_from_db()
    assert window.revision == 2
    change = WindowChange.objects.get(window=window)
    assert (change.old_ends_at, change.new_ends_at) == (now + DAY + 4 * HOUR, window.ends_at)
    assert change.kind == WindowChange.Kind.EXTENDED
    assert change.changed_by == mfa_staff_user.user
    whole.refresh_from_db()
    inner.refresh_from_db()
    assert whole.ends_at == window.ends_at  # lasted until the end: still does
    assert inner.ends_at == window.starts_at + HOUR  # placed inside: stays


def test_moving_a_window_moves_its_interruptions(staff_client):
    now = timezone.now().replace(microsecond=0, second=0)
    window = MaintenanceWindowFactory.create(starts_at=now + DAY, ends_at=now + DAY + 4 * HOUR)
    inner = InterruptionFactory.create(
        window=window, starts_at=window.starts_at + HOUR, ends_at=window.starts_at + 2 * HOUR
    )
    data = window_data(window.starts_at + DAY, window.ends_at + DAY, _existing(window), initial=1)

    response = staff_client.post(
        reverse("admin:outages_maintenancewindow_change", args=[window.pk]), data
    )

    assert response.status_code == 302, errors_of(response)
    inner.refresh_from_db()
    assert inner.starts_at == now + 2 * DAY + HOUR
    assert WindowChange.objects.get().kind == WindowChange.Kind.MOVED


def test_an_interruption_staff_place_themselves_stays_where_they_put_it(staff_client):
    now = timezone.now().replace(microsecond=0, second=0)
    window = MaintenanceWindowFactory.create(starts_at=now + DAY, ends_at=now + DAY + 4 * HOUR)
    inner = InterruptionFactory.create(window=window, ends_at=window.starts_at + HOUR)
    moved = [{"starts": now + 2 * DAY, "ends": now + 2 * DAY + 3 * HOUR, "pk": inner.pk}]
    data = window_data(now + 2 * DAY, now + 2 * DAY + 4 * HOUR, moved, initial=1)

    response = staff_client.post(
        reverse("admin:outages_maintenancewindow_change", args=[window.pk]), data
    )

    assert response.status_code == 302, errors_of(response)
    inner.refresh_from_db()
    assert (inner.starts_at, inner.ends_at) == (now + 2 * DAY, now + 2 * DAY + 3 * HOUR)


def test_shortening_below_an_interruption_is_refused_with_its_name(staff_client):
    now = timezone.now().replace(microsecond=0, second=0)
    window = MaintenanceWindowFactory.create(starts_at=now + DAY, ends_at=now + DAY + 4 * HOUR)
    InterruptionFactory.create(
        window=window, starts_at=window.starts_at, ends_at=window.starts_at + 3 * HOUR
    )
    data = window_data(window.starts_at, window.starts_at + 2 * HOUR, _existing(window), initial=1)

    response = staff_client.post(
        reverse("admin:outages_maintenancewindow_change", args=[window.pk]), data
    )

    assert response.status_code == 200
    assert "Registration: an interruption must fit inside its window" in errors_of(response)
    window.refresh_from_db()
    assert window.revision == 1


def test_editing_only_the_title_records_no_change(staff_client):
    window = MaintenanceWindowFactory.create()
    data = window_data(window.starts_at, window.ends_at, [])
    data["title_en"] = "Renamed"

    response = staff_client.post(
        reverse("admin:outages_maintenancewindow_change", args=[window.pk]), data
    )

    assert response.status_code == 302, errors_of(response)
    window.refresh_from_db()
    assert (window.title_en, window.revision) == ("Renamed", 1)
    assert not WindowChange.objects.exists()


def test_cancel_action(staff_client):
    upcoming, already = MaintenanceWindowFactory.create(), MaintenanceWindowFactory.create()
    already.cancelled_at = timezone.now()
    already.save()

    changelist = reverse("admin:outages_maintenancewindow_changelist")
    selection = {"action": "cancel_windows", "_selected_action": [upcoming.pk, already.pk]}

    # First a confirmation page that lists what will be cancelled, and nothing changes.
    asked = staff_client.post(changelist, selection)
    assert asked.status_code == 200
    assert "Yes, cancel them" in asked.content.decode()
    assert upcoming.title_en in asked.content.decode()
    upcoming.refresh_from_db()
    assert upcoming.cancelled_at is None

    response = staff_client.post(changelist, {**selection, "confirm": "yes"}, follow=True)

    assert "1 window cancelled; people already notified will be told." in errors_of(response)
    upcoming.refresh_from_db()
    assert upcoming.cancelled_at is not None
    assert upcoming.revision == 2
    assert WindowChange.objects.get().cancelled


def test_a_cancelled_window_cannot_be_moved(staff_client):
    window = MaintenanceWindowFactory.create(cancelled_at=timezone.now())
    data = window_data(window.starts_at + HOUR, window.ends_at + HOUR, [])

    response = staff_client.post(
        reverse("admin:outages_maintenancewindow_change", args=[window.pk]), data
    )

    assert response.status_code == 200
    assert "A cancelled window cannot be moved or extended." in errors_of(response)


@pytest.mark.parametrize("state", ["upcoming", "in_progress", "completed", "cancelled", ""])
def test_changelist_filters_by_derived_state_and_searches(staff_client, state):
    now = timezone.now()
    MaintenanceWindowFactory.create(title_en="Future upgrade")
    MaintenanceWindowFactory.create(
        title_en="Running now", starts_at=now - HOUR, ends_at=now + HOUR
    )
    MaintenanceWindowFactory.create(title_en="Long gone", starts_at=now - DAY, ends_at=now - HOUR)
    MaintenanceWindowFactory.create(title_en="Called off", cancelled_at=now)
    expected = {
        "upcoming": "Future upgrade",
        "in_progress": "Running now",
        "completed": "Long gone",
        "cancelled": "Called off",
        "": "Future upgrade",
    }[state]

    response = staff_client.get(
        reverse("admin:outages_maintenancewindow_changelist"),
        {"state": state} if state else {"q": expected.split()[0]},
    )

    assert response.status_code == 200
    rows = [str(window) for window in response.context["cl"].result_list]
    assert expected in rows
    if state:
        assert len(rows) == 1


def test_notices_and_postponed_tasks_are_read_only(staff_client, user):
    window = MaintenanceWindowFactory.create()
    delivery = Delivery.objects.create(
        channel="email",
        kind="outages.notice",
        address=user.email,
        user=user,
        dedupe_key=f"outages.notice:{window.pk}:{user.pk}:1",
    )
    notice = MaintenanceNotice.objects.create(
        window=window, user=user, revision=1, delivery=delivery
    )

    assert (
        staff_client.get(reverse("admin:outages_maintenancenotice_changelist")).status_code == 200
    )
    assert staff_client.get(reverse("admin:outages_maintenancenotice_add")).status_code == 403
    change_url = reverse("admin:outages_maintenancenotice_change", args=[notice.pk])
    assert b'name="_save"' not in staff_client.get(change_url).content
    assert staff_client.get(reverse("admin:outages_postponedtask_changelist")).status_code == 200
    assert staff_client.get(reverse("admin:outages_postponedtask_add")).status_code == 403


def test_the_change_form_shows_the_ticked_capabilities(staff_client):
    interruption = InterruptionFactory.create(features=["invoices", "online_payment"])

    response = staff_client.get(
        reverse("admin:outages_maintenancewindow_change", args=[interruption.window.pk])
    )

    text = response.content.decode()
    checked = re.findall(
        r'<input type="checkbox" name="interruptions-0-features" value="(\w+)"[^>]*checked', text
    )
    assert sorted(checked) == ["invoices", "online_payment"]


def test_a_window_saved_in_the_admin_reaches_the_gate_at_once(
    staff_client, django_capture_on_commit_callbacks
):
    now = timezone.now().replace(microsecond=0)
    assert gate.is_open(Feature.REGISTRATION)  # the snapshot is now cached
    data = window_data(now - HOUR, now + HOUR, [{"starts": now - HOUR, "ends": now + HOUR}])

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("admin:outages_maintenancewindow_add"), data)

    assert response.status_code == 302, errors_of(response)
    assert not gate.is_open(Feature.REGISTRATION)
