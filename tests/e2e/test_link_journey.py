"""A user links a business account; a contact removes them from the e-mailed link.

The user signs in and links the account through the form (what people type: spaces, lower
case). The contact's notice arrives (tasks are eager in tests, after the live server's commit);
the test opens its removal link in a separate browser, as the contact, and confirms. The user
reloads "My business accounts" and the account is gone.
"""

import re
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import Browser, Page, expect

from accounts.models import AccountLink, BusinessAccount, Contact
from tests.accounts.factories import BusinessAccountFactory, ContactFactory, ContractFactory
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = "/tmp/link-journey-{}.png"  # noqa: S108 - screenshots for a person to look at


@pytest.fixture
def account() -> BusinessAccount:
    account = BusinessAccountFactory.create(
        customer_number="0001234567",
        postal_code="K1A 0B1",
        legal_name="Maple Leaf Outfitters Inc.",
        kind=BusinessAccount.Kind.COMMERCIAL,
    )
    ContractFactory.create(account=account, number="4012345678")
    ContactFactory.create(
        account=account, role=Contact.Role.BILLING, name="Owen Fraser", email="owen@maple.example"
    )
    return account


def _sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    expect(page.get_by_role("heading", name="My business accounts")).to_be_visible()


def _link_through_the_form(page: Page) -> None:
    page.get_by_role("link", name="Link a business account").click()
    page.get_by_label("Customer number").fill("0001 234 567")
    page.get_by_label("Postal code of the business address").fill("k1a0b1")
    page.get_by_label("Contract number").fill("4012-345-678")
    page.screenshot(path=SHOTS.format("1-form"), full_page=True)
    page.get_by_role("button", name="Link the account").click()
    expect(page.get_by_role("heading", name="Maple Leaf Outfitters Inc.")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("is now linked to your profile")
    page.screenshot(path=SHOTS.format("1b-account"), full_page=True)


def _removal_link_for(address: str) -> str:
    [message] = [m for m in mail.outbox if m.to == [address]]
    found = re.search(r"http://\S+/business/removal/\S+/", str(message.body))
    assert found, message.body
    return found.group(0)


def test_a_contact_removes_a_newly_linked_user_from_the_email(
    live_server: Any,
    browser: Browser,
    page: Page,
    account: BusinessAccount,
    settings: Any,
    console_messages: list[str],
):
    settings.PORTAL_BASE_URL = live_server.url  # the links the e-mails carry
    user = UserFactory.create(first_name="Ada", last_name="Lovelace", email="ada@example.org")
    page.set_default_timeout(10_000)

    _sign_in(page, live_server.url, user.email)
    _link_through_the_form(page)
    page.goto(f"{live_server.url}/")
    expect(page.locator("#linked-accounts")).to_contain_text("Maple Leaf Outfitters Inc.")
    page.screenshot(path=SHOTS.format("1c-home"), full_page=True)

    contact = browser.new_context().new_page()  # the contact has no portal session
    contact.goto(_removal_link_for("owen@maple.example"))
    expect(contact.locator("#removed-user")).to_contain_text("Ada Lovelace (ada@example.org)")
    contact.screenshot(path=SHOTS.format("2-confirm"), full_page=True)
    contact.get_by_role("button", name="Remove this user").click()
    expect(contact.get_by_role("heading", name="User removed")).to_be_visible()
    expect(contact.get_by_label("What happened?")).to_be_visible()  # the report is offered
    contact.screenshot(path=SHOTS.format("3-removed"), full_page=True)

    page.reload()
    expect(page.get_by_text("not linked to any business account yet")).to_be_visible()
    expect(page.get_by_text("Maple Leaf Outfitters Inc.")).to_have_count(0)
    page.screenshot(path=SHOTS.format("4-home-after"), full_page=True)

    link = AccountLink.objects.get()
    assert link.removed_via == AccountLink.RemovedVia.CONTACT_LINK
    assert [m.to for m in mail.outbox if "no longer linked" in m.body] == [["ada@example.org"]]
    assert not [m for m in console_messages if m.startswith(("error", "pageerror"))]
