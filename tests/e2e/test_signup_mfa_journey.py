"""A new business user, start to finish, in a real browser.

Sign up, confirm the e-mail, turn on an authenticator app, sign out, sign in again with both
factors, and switch the portal to French; the browser must log no Content-Security-Policy
violation on the way.
"""

import re
import tempfile
import time
from pathlib import Path
from typing import Any

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import translation
from playwright.sync_api import Page, expect

from tests.conftest import TOTP_PERIOD, totp_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EMAIL = "claire.tremblay@mapleleaf.example"
PASSWORD = "Parcel-return-2026!"
SCREENSHOT = Path(tempfile.gettempdir()) / "portal-e2e-signup-mfa-journey.png"
CONFIRM_LINK = re.compile(r"https?://[^\s]+/accounts/confirm-email/[^/\s]+/")


def _submit(page: Page) -> None:
    """Press the main form's submit button (the header has forms of its own)."""
    page.locator("main form button[type=submit]").first.click()


def _wait_for_mail(count: int, timeout: float = 10.0) -> mail.EmailMessage:
    deadline = time.monotonic() + timeout
    while len(mail.outbox) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(mail.outbox) >= count, f"expected {count} e-mail(s), got {len(mail.outbox)}"
    return mail.outbox[count - 1]


def _csp_violations(messages: list[str]) -> list[str]:
    return [m for m in messages if "Content Security Policy" in m or "Content-Security" in m]


def test_signup_confirm_totp_signin_and_french(
    live_server: Any, page: Page, console_messages: list[str]
):
    base = live_server.url
    page.set_default_timeout(10_000)

    # Sign up.
    page.goto(f"{base}/accounts/signup/")
    expect(page.locator("html")).to_have_attribute("lang", "en-CA")
    page.fill("#id_email", EMAIL)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    _submit(page)
    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/$"))

    # Confirm the address with the link from the e-mail the Celery task delivered.
    message = _wait_for_mail(1)
    assert message.to == [EMAIL]
    link = CONFIRM_LINK.search(str(message.body))
    assert link, message.body
    page.goto(link.group(0))
    _submit(page)
    expect(page.locator("h1")).to_have_text("My business accounts")
    expect(page.locator("header")).to_contain_text(EMAIL)

    # Turn on the authenticator app; allauth asks for the password again first.
    page.goto(f"{base}/accounts/2fa/totp/activate/")
    if "/reauthenticate/" in page.url:
        page.fill("#id_password", PASSWORD)
        _submit(page)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/"))
    secret = page.locator("#authenticator_secret").input_value()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    activation_code = totp_code(secret)
    activated_in_window = int(time.time()) // TOTP_PERIOD
    page.fill("#id_code", activation_code)
    _submit(page)

    # The recovery codes are shown once.
    expect(page).to_have_url(re.compile(r"/accounts/2fa/recovery-codes/"))
    expect(page.locator("main")).to_contain_text("Recovery Codes")
    user = get_user_model().objects.get(email=EMAIL)
    kinds = Authenticator.objects.filter(user=user).values_list("type", flat=True)
    assert set(kinds) == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}

    # Sign out, then sign in with both factors.
    page.locator("header form button[type=submit]", has_text="Sign out").click()
    if "/accounts/logout/" in page.url:  # allauth may ask to confirm
        _submit(page)
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login", EMAIL)
    page.fill("#id_password", PASSWORD)
    _submit(page)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    # A code counts once per 30 s window: wait for a window after the activation's.
    code = totp_code(secret, fresh=int(time.time()) // TOTP_PERIOD == activated_in_window)
    assert pyotp.TOTP(secret).verify(code)
    page.fill("#id_code", code)
    _submit(page)
    expect(page.locator("h1")).to_have_text("My business accounts")

    # Switch to French with the header's button.
    page.locator("header button", has_text="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr-CA")
    with translation.override("fr"):
        french_heading = translation.gettext("My business accounts")
    expect(page.locator("h1")).to_have_text(french_heading)
    expect(page.locator("header button", has_text="English")).to_be_visible()
    page.goto(f"{base}/accounts/2fa/")
    expect(page.locator("html")).to_have_attribute("lang", "fr-CA")
    expect(page.locator("main")).to_contain_text("Application d'authentification")

    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 0
    assert _csp_violations(console_messages) == [], console_messages
