"""Staff plan a sign-up interruption in the admin; a visitor meets it, then sign-up reopens.

Staff sign in with both factors and create, in Eastern Time, a window that started a minute
ago with one interruption on registration. A visitor sees the banner and a 503 sign-up page
with Retry-After. Staff then end it (through the service, as the admin's change form does) two
seconds from now, and the visitor's sign-up form comes back.
"""

import datetime
import re
import time
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from outages import services
from outages.models import MaintenanceWindow
from portal.formatting import EASTERN
from tests.conftest import MFAUser

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _eastern(moment: datetime.datetime) -> tuple[str, str]:
    local = moment.astimezone(EASTERN)
    return local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")


def _fill_moment(page: Page, name: str, moment: datetime.datetime) -> None:
    day, time_of_day = _eastern(moment)
    page.fill(f"input[name='{name}_0']", day)
    page.fill(f"input[name='{name}_1']", time_of_day)


def _staff_signs_in(page: Page, base: str, staff: MFAUser, next_path: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.fill("#id_login", staff.user.email)
    page.fill("#id_password", staff.password)
    page.locator("main form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.fill("#id_code", staff.code())
    page.locator("main form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(re.escape(next_path) + "$"))


def _staff_create_window(page: Page, starts: datetime.datetime, ends: datetime.datetime) -> None:
    page.fill("#id_title_en", "Sign-up upgrade")
    page.fill("#id_title_fr", "Mise à niveau de l'inscription")
    _fill_moment(page, "starts_at", starts)
    _fill_moment(page, "ends_at", ends)
    page.fill("#id_interruptions-0-application_en", "Registration")
    page.fill("#id_interruptions-0-application_fr", "Inscription")
    page.fill("#id_interruptions-0-description_en", "New profiles cannot be created.")
    page.fill("#id_interruptions-0-description_fr", "Impossible de créer un profil.")
    _fill_moment(page, "interruptions-0-starts_at", starts)
    _fill_moment(page, "interruptions-0-ends_at", ends)
    page.check("input[name='interruptions-0-features'][value='registration']")
    page.locator("input[name='_save']").click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")


def test_staff_plan_a_signup_interruption_and_a_visitor_meets_it(
    live_server: Any,
    browser: Browser,
    page: Page,
    mfa_staff_user: MFAUser,
    console_messages: list[str],
):
    base = live_server.url
    page.set_default_timeout(10_000)
    now = timezone.now().replace(microsecond=0)

    add_path = reverse("admin:outages_maintenancewindow_add")
    _staff_signs_in(page, base, mfa_staff_user, add_path)
    _staff_create_window(
        page, now - datetime.timedelta(minutes=1), now + datetime.timedelta(hours=1)
    )

    visitor = browser.new_context().new_page()
    visitor.set_default_timeout(10_000)
    visitor.goto(f"{base}/")
    expect(visitor.locator(".maintenance-banner")).to_contain_text("Sign-up upgrade")

    response = visitor.goto(f"{base}/accounts/signup/")
    assert response is not None and response.status == 503
    retry_after = int(response.headers["retry-after"])
    assert 3500 <= retry_after <= 3600
    expect(visitor.locator("main")).to_contain_text("Registration is unavailable until")
    expect(visitor.locator("#id_email")).to_have_count(0)

    window = MaintenanceWindow.objects.get()
    services.reschedule_window(
        window=window,
        starts_at=window.starts_at,
        ends_at=timezone.now() + datetime.timedelta(seconds=2),
        actor=mfa_staff_user.user,
    )

    deadline = time.monotonic() + 8
    while (response := visitor.goto(f"{base}/accounts/signup/")) and response.status == 503:
        assert time.monotonic() < deadline, "sign-up did not reopen after the window ended"
        time.sleep(0.5)
    assert response is not None and response.status == 200
    expect(visitor.locator("#id_email")).to_be_visible()


def test_visitors_switch_the_status_page_to_french_and_back(live_server: Any, browser: Browser):
    """The second visitor is served the copy the first one's visit cached, with a CSRF token of
    their own in the header's language form."""
    for _ in range(2):
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{live_server.url}{reverse('outages:status')}")
        expect(page.locator("h1")).to_have_text("Service interruptions")
        page.get_by_role("button", name="Français").click()
        expect(page.locator("h1")).to_have_text("Interruptions de service")
        expect(page).to_have_url(f"{live_server.url}{reverse('outages:status')}")
        page.get_by_role("button", name="English").click()
        expect(page.locator("h1")).to_have_text("Service interruptions")
        context.close()
