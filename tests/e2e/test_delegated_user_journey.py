"""An administrator adds a pre-registered person with the preparer profile; the new user signs in.

The administrator signs in with a TOTP code, walks "Add a user" (pick, check the data and enter
the e-mail, the preparer profile pre-checked, review) and confirms with a fresh TOTP code. The
new user signs in with the password texted to them (django-sms's in-memory outbox; tasks are
eager), confirms their address through the link e-mailed to it, must choose a password and set
up two-factor authentication first, then sees exactly
what the profile gives: consult and manage, no validate, no administration.
"""

import re
import time
from typing import Any

import pyotp
import pytest
from django.core import mail
from playwright.sync_api import Browser, Page, expect

from accounts.models import AccountLink, BusinessAccount, PreRegistration
from accounts.rights import Right
from tests.accounts.delegation_factories import administrator, texted_password, with_totp
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.conftest import TOTP_PERIOD, MFAUser, totp_code
from tests.factories import DEFAULT_PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = "/tmp/delegated-journey-{}.png"  # noqa: S108 - screenshots for a person to look at
NEW_EMAIL = "sophie.martin@mapleleaf.example"
NEW_PASSWORD = "Returns-and-parcels-2026!"


@pytest.fixture
def account() -> BusinessAccount:
    account = BusinessAccountFactory.create(legal_name="Maple Leaf Outfitters Inc.")
    ContractFactory.create(account=account, number="4012345678")
    ContractFactory.create(account=account, number="4012345679")
    PreRegistration.objects.create(
        account=account,
        last_name="Martin",
        first_name="Sophie",
        date_of_birth="1988-03-14",
        mobile_phone="+16135550142",
    )
    return account


def _submit(page: Page) -> None:
    page.locator("main form button[type=submit]").first.click()


def _code_after(mfa: MFAUser, used_in_window: int) -> str:
    """A TOTP code of a later window than one already used (a code counts once)."""
    return totp_code(mfa.secret, fresh=int(time.time()) // TOTP_PERIOD == used_in_window)


def _admin_signs_in(page: Page, base: str, mfa: MFAUser) -> int:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login", mfa.user.email)
    page.fill("#id_password", DEFAULT_PASSWORD)
    _submit(page)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.fill("#id_code", totp_code(mfa.secret))
    window = int(time.time()) // TOTP_PERIOD
    _submit(page)
    expect(page.get_by_role("heading", name="My business accounts")).to_be_visible()
    return window


def _add_with_preparer_profile(page: Page, account: BusinessAccount) -> None:
    page.get_by_role("link", name="Maple Leaf Outfitters Inc.", exact=True).click()
    expect(page.locator("#your-rights")).to_contain_text("Administrator")
    page.locator("#your-rights").get_by_role("link", name="Users").click()
    page.get_by_role("link", name="Add a user").click()
    page.get_by_label(re.compile("Sophie Martin")).check()
    page.screenshot(path=SHOTS.format("1-pick"), full_page=True)
    _submit(page)
    expect(page.locator("#person-details")).to_contain_text("Martin")
    page.get_by_label("E-mail address").fill(NEW_EMAIL)
    expect(page.locator("#person-mobile")).to_have_text("613 555-0142")  # support's, read-only
    page.screenshot(path=SHOTS.format("2-details"), full_page=True)
    _submit(page)
    page.get_by_label(re.compile("Preparer profile")).check()
    page.screenshot(path=SHOTS.format("3-way"), full_page=True)
    _submit(page)
    grid = page.locator("#rights-grid")
    expect(grid.locator("input[type=checkbox]:checked")).to_have_count(6)  # 3 lines x 2
    page.screenshot(path=SHOTS.format("4-preparer-grid"), full_page=True)
    page.get_by_role("button", name="Review").click()
    expect(page.get_by_role("heading", name="Review and confirm")).to_be_visible()
    expect(page.locator("#review-person")).to_contain_text(NEW_EMAIL)
    expect(page.locator("#validate-warning")).to_have_count(0)
    page.screenshot(path=SHOTS.format("5-review"), full_page=True)
    page.get_by_role("button", name="Confirm", exact=True).click()


def _new_user_signs_in(page: Page, base: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login", NEW_EMAIL)
    page.fill("#id_password", password)
    _submit(page)
    # The address the administrator typed is confirmed by its owner first.
    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/$"))
    [confirmation] = [m for m in mail.outbox if "confirm-email" in m.body]
    found = re.search(r"https?://\S+/accounts/confirm-email/\S+/", str(confirmation.body))
    assert found, confirmation.body
    page.goto(found.group(0))
    _submit(page)
    # Every page leads to the password first.
    expect(page).to_have_url(re.compile(r"/accounts/password/change/"))
    expect(page.get_by_role("status")).to_contain_text("replace your temporary password")
    page.screenshot(path=SHOTS.format("7-forced-password"), full_page=True)
    page.fill("#id_oldpassword", password)
    page.fill("#id_password1", NEW_PASSWORD)
    page.fill("#id_password2", NEW_PASSWORD)
    _submit(page)
    # Then the second factor.
    page.goto(f"{base}/")
    if "/reauthenticate/" in page.url:
        page.fill("#id_password", NEW_PASSWORD)
        _submit(page)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/"))
    page.screenshot(path=SHOTS.format("8-forced-two-factor"), full_page=True)
    secret = page.locator("#authenticator_secret").input_value()
    page.fill("#id_code", totp_code(secret))
    _submit(page)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/recovery-codes/"))
    assert pyotp.TOTP(secret).now()


def test_an_administrator_adds_a_preparer_who_signs_in_and_sees_what_the_profile_gives(
    live_server: Any,
    browser: Browser,
    page: Page,
    account: BusinessAccount,
    settings: Any,
    sms_outbox: list[Any],
    console_messages: list[str],
):
    settings.PORTAL_BASE_URL = live_server.url
    base = live_server.url
    admin = with_totp(administrator(account, email="claire@mapleleaf.example").user)
    page.set_default_timeout(15_000)

    login_window = _admin_signs_in(page, base, admin)
    _add_with_preparer_profile(page, account)
    # Confirming asks for the second factor again.
    expect(page).to_have_url(re.compile(r"/accounts/2fa/reauthenticate/"))
    page.screenshot(path=SHOTS.format("6a-reauthenticate"), full_page=True)
    page.fill("#id_code", _code_after(admin, login_window))
    _submit(page)
    expect(page.get_by_role("status")).to_contain_text("The user was added")
    expect(page.locator("#account-users")).to_contain_text(NEW_EMAIL)
    expect(page.locator("#account-users")).to_contain_text("Whole account: Consult and manage")
    page.screenshot(path=SHOTS.format("6b-users"), full_page=True)

    [text] = sms_outbox
    assert text.recipients == ["+16135550142"]
    newcomer = browser.new_context().new_page()
    newcomer.set_default_timeout(15_000)
    _new_user_signs_in(newcomer, base, texted_password(text.body))

    newcomer.goto(f"{base}/")
    expect(newcomer.locator("#linked-accounts")).to_contain_text("Consult and manage")
    newcomer.screenshot(path=SHOTS.format("9-home"), full_page=True)
    newcomer.get_by_role("link", name="Maple Leaf Outfitters Inc.", exact=True).click()
    panel = newcomer.locator("#your-rights")
    for row in panel.locator("tbody tr").all():  # the account and both contracts
        expect(row.locator("td")).to_have_count(3)
        expect(row.locator("td").nth(0)).to_contain_text("Yes")
        expect(row.locator("td").nth(1)).to_contain_text("Yes")
        expect(row.locator("td").nth(2)).to_contain_text("No")
    expect(panel.get_by_role("link", name="Users")).to_have_count(0)
    expect(panel.get_by_role("link", name="To validate")).to_be_visible()
    newcomer.screenshot(path=SHOTS.format("10-your-rights"), full_page=True)
    response = newcomer.goto(f"{base}/business/{account.pk}/users/")
    assert response is not None and response.status == 404

    link = AccountLink.objects.get(user__email=NEW_EMAIL)
    assert link.created_by == admin.user
    assert not [m for m in console_messages if m.startswith(("error", "pageerror"))]
    assert Right.MANAGE  # the profile's level, checked through the page above
