"""Bad input, generated, on the maintenance side: the admin's "add a maintenance window" form
with its interruptions, the admin's list filters, and the public status pages' parameters.

Staff may write any text in a window's titles, so every example here carries a start that is no
date at all: the form must refuse it, show every field again escaped, and save nothing.
"""

from typing import Any

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from outages.features import Feature
from tests.security import hostile
from tests.security.fuzzing import FORM_ERROR, FUZZ, refused
from tests.security.world import World

pytestmark = pytest.mark.django_db


def _no_date() -> st.SearchStrategy[str]:
    """Never a date or a time: a markup fragment first, then anything."""
    return st.tuples(st.sampled_from(hostile.MARKUP), hostile.hostile_text(max_parts=2)).map(
        "".join
    )


def _moment() -> st.SearchStrategy[str]:
    return st.one_of(
        hostile.not_a_number(),
        st.sampled_from(("2026-02-30", "2026-03-08", "02:30:00", "9999-12-31", "0000-01-01")),
    )


def _window_form() -> st.SearchStrategy[dict[str, Any]]:
    text = hostile.hostile_text()
    window = hostile.form_data(
        {
            "title_en": text,
            "title_fr": text,
            "summary_en": text,
            "summary_fr": text,
            "ends_at_0": _moment(),
            "ends_at_1": _moment(),
            "starts_at_1": _moment(),
            "interruptions-TOTAL_FORMS": st.one_of(st.just("1"), hostile.not_a_number()),
            "interruptions-INITIAL_FORMS": st.one_of(st.just("0"), hostile.not_a_number()),
        }
    )
    prefix = "interruptions-0-"
    interruption = hostile.form_data(
        {
            f"{prefix}id": hostile.not_a_number(),
            f"{prefix}application_en": text,
            f"{prefix}application_fr": text,
            f"{prefix}description_en": text,
            f"{prefix}description_fr": text,
            f"{prefix}starts_at_0": _moment(),
            f"{prefix}starts_at_1": _moment(),
            f"{prefix}ends_at_0": _moment(),
            f"{prefix}ends_at_1": _moment(),
            f"{prefix}features": st.one_of(hostile.hostile_text(), st.sampled_from(Feature.values)),
            f"{prefix}scope": text,
        }
    )
    return st.tuples(window, interruption, _no_date()).map(
        lambda parts: {**parts[0], **parts[1], "starts_at_0": parts[2]}
    )


@FUZZ
@given(data=_window_form())
def test_adding_a_maintenance_window_refuses_bad_input(
    fuzz_world: World, data: dict[str, Any]
) -> None:
    refused(
        fuzz_world.caller("staff_with_2fa"),
        "POST",
        reverse("admin:outages_maintenancewindow_add"),
        data,
        statuses=FORM_ERROR,
    )


@FUZZ
@given(data=_window_form())
def test_changing_a_maintenance_window_refuses_bad_input(
    fuzz_world: World, data: dict[str, Any]
) -> None:
    path = reverse("admin:outages_maintenancewindow_change", args=[fuzz_world.window.pk])
    refused(fuzz_world.caller("staff_with_2fa"), "POST", path, data, statuses=FORM_ERROR)


@FUZZ
@given(value=hostile.hostile_text(), parameter=st.sampled_from(("q", "state", "p")))
def test_the_admin_list_survives_bad_filters(fuzz_world: World, value: str, parameter: str) -> None:
    path = reverse("admin:outages_maintenancewindow_changelist")
    # The admin answers an unknown filter value by going back to the list with ?e=1: no error.
    response = refused(
        fuzz_world.caller("staff_with_2fa"),
        "GET",
        path,
        {parameter: value},
        statuses={200, 302},
        redirect_says_why=False,  # the list it leads to (?e=1) says the filter was wrong
    )
    if response.status_code == 302:
        assert response["Location"].endswith("?e=1")


@FUZZ
@given(lang=hostile.hostile_text(), page=hostile.hostile_text())
def test_the_status_pages_ignore_bad_parameters(fuzz_world: World, lang: str, page: str) -> None:
    for name in ("outages:status", "outages:archive", "outages:ical", "outages:atom"):
        refused(
            fuzz_world.visitor(), "GET", reverse(name), {"lang": lang, "page": page}, statuses={200}
        )
