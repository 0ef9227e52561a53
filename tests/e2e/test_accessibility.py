"""WCAG 2.1 AA checks with axe-core on the portal's main pages, in English and in French.

axe-core (MPL-2.0) ships in tests/e2e/vendor: nothing is downloaded. It is injected with the
page's CSP bypassed, since the portal itself allows no inline script.
"""

import datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext

from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.outages.factories import InterruptionFactory, MaintenanceWindowFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

PUBLIC_PAGES = [
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
    "/status/",
    "/status/archive/",
]
SIGNED_IN_PAGES = ["/", "/business/link/", "/business/security/", "/accounts/2fa/"]


def _violations(context: BrowserContext, url: str) -> list[str]:
    page = context.new_page()
    page.goto(url)
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
        ".then(r => r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target).join(' | ')))",
        WCAG_AA,
    )
    page.close()
    return [f"{url}: {violation}" for violation in found]


def _context(browser: Browser, base: str, language: str, session_key: str = "") -> BrowserContext:
    context = browser.new_context(bypass_csp=True)
    cookies = [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base}]
    if session_key:
        cookies.append({"name": settings.SESSION_COOKIE_NAME, "value": session_key, "url": base})
    context.add_cookies(cookies)  # type: ignore[arg-type]
    return context


@pytest.fixture
def announced_window() -> None:
    """A window starting tomorrow, so the banner is on every page that is checked."""
    starts = timezone.now() + datetime.timedelta(days=1)
    window = MaintenanceWindowFactory.create(
        starts_at=starts, ends_at=starts + datetime.timedelta(hours=4)
    )
    InterruptionFactory.create(window=window)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_public_pages_meet_wcag_aa(
    live_server: Any, browser: Browser, language: str, announced_window: None
):
    context = _context(browser, live_server.url, language)
    problems = [v for path in PUBLIC_PAGES for v in _violations(context, live_server.url + path)]
    context.close()
    assert problems == []


@pytest.mark.parametrize("language", ["en", "fr"])
def test_signed_in_pages_meet_wcag_aa(
    live_server: Any, browser: Browser, language: str, announced_window: None
):
    account = BusinessAccountFactory.create()
    ContractFactory.create(account=account)
    link = AccountLinkFactory.create(account=account)
    client = Client()
    client.force_login(link.user)
    context = _context(browser, live_server.url, language, client.session.session_key or "")
    pages = [*SIGNED_IN_PAGES, f"/business/{account.pk}/"]
    problems = [v for path in pages for v in _violations(context, live_server.url + path)]
    context.close()
    assert problems == []
