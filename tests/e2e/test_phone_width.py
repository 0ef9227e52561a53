# ruff: noqa: RUF001 - French typography uses the typographic apostrophe
"""Every page a signed-in administrator uses, on a 390 px phone, in English and in French.

Nothing may stick out sideways: the page does not scroll horizontally, and every table cell,
button and checkbox lies inside the screen (a table that scrolls inside its own box hides its
rights and actions just the same). The rights grid's checkboxes are big enough to tap and their
border stands out from the page (WCAG 2.1 AA non-text contrast, 3:1). Screenshots are left in
/tmp/shots/ for a person to look at.
"""

import datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize

from accounts import actions, audit, services
from accounts.models import AuditEvent
from accounts.rights import Right
from accounts.rightsets import RightSet
from tests.accounts.delegation_factories import administrator
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.billing.factories import (
    BillingProfileFactory,
    CardFactory,
    ChargeFactory,
    InvoiceFactory,
    StatementFactory,
)
from tests.e2e.test_accessibility import _violations
from tests.factories import UserFactory
from tests.outages.factories import InterruptionFactory, MaintenanceWindowFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PHONE: ViewportSize = {"width": 390, "height": 844}
SHOTS = Path("/tmp/shots")  # noqa: S108 - screenshots for a person to look at

# Everything a person reads or taps that sits outside the screen; visually hidden text and
# zero-size boxes (hidden inputs, a table head kept for screen readers) are not looked at.
# And, while the text is at hand, a stray space before a period.
OUTSIDE = """() => {
  const width = window.innerWidth, found = [];
  const root = document.documentElement;
  if (root.scrollWidth > width) found.push(`the page is ${root.scrollWidth}px wide`);
  const shown = 'main td, main th, main .btn, main button, main input, main select, main a,'
    + ' header .btn, header button, header a, footer a';
  for (const el of document.querySelectorAll(shown)) {
    if (el.closest('.visually-hidden, .visually-hidden-focusable')) continue;
    const box = el.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1) continue;
    if (box.left < -0.5 || box.right > width + 0.5) {
      const text = (el.innerText || el.value || el.name || '').trim().slice(0, 40);
      found.push(`${el.tagName.toLowerCase()} "${text}" spans ${Math.round(box.left)}`
        + `-${Math.round(box.right)}px`);
    }
  }
  const spaced = document.body.innerText.match(/\\S+ \\.(?!\\.)/g);
  if (spaced) found.push(`a space before a period: ${spaced.join(' | ')}`);
  return found;
}"""

# Size of each box of the rights grid, and the contrast of its border with the page behind.
CHECKBOXES = """() => {
  const luminance = rgb => {
    const [r, g, b] = rgb.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number).map(v => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const contrast = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  return [...document.querySelectorAll('#rights-grid input[type=checkbox]')].map(box => {
    const style = getComputedStyle(box), rect = box.getBoundingClientRect();
    return {width: rect.width, height: rect.height,
            contrast: contrast(style.borderTopColor, 'rgb(255, 255, 255)')};
  });
}"""


@pytest.fixture
def busy_account() -> dict[str, Any]:
    """An account with long names, several contracts and users, a request and an audit trail."""
    account = BusinessAccountFactory.create(
        legal_name="Pourvoiries et articles de plein air de la Feuille d’érable Inc."
    )
    for number in ("4012345678", "4012345679", "4012345680"):
        ContractFactory.create(account=account, number=number)
    admin = administrator(account, first_name="Marie-Ève", last_name="Beauchemin-Tremblay").user
    preparer = administrator(account, level=Right.MANAGE).user
    nameless = UserFactory.create(
        email="approvisionnement.comptabilite@pourvoiries-feuille-erable.example",
        first_name="",
        last_name="",
    )
    target = AccountLinkFactory.create(account=account, user=nameless, right=Right.CONSULT)
    AccountLinkFactory.create(account=account, right=Right.MANAGE)
    services.prepare_request(
        actor=preparer,
        account=account,
        kind=actions.CHANGE_RIGHTS,
        payload=actions.change_rights_payload(link=target, chosen=RightSet({None: Right.MANAGE})),
        ip=None,
    )
    for _ in range(3):
        audit.record(
            actor=admin,
            account=account,
            event=AuditEvent.Event.LINKED,
            ip="2001:db8:85a3::8a2e:370:7334",
            user_email=nameless.email,
        )
    starts = timezone.now() + datetime.timedelta(days=1)
    window = MaintenanceWindowFactory.create(
        starts_at=starts, ends_at=starts + datetime.timedelta(hours=4)
    )
    InterruptionFactory.create(window=window)
    return {"account": account, "admin": admin, "target": target, **_billing(account, admin)}


def _billing(account: Any, admin: Any) -> dict[str, Any]:
    """Invoices and a card for the commercial account; a small business with a statement."""
    BillingProfileFactory.create(account=account, terms_days=30)
    CardFactory.create(account=account, is_default=True, holder_name="Marie-Ève Beauchemin")
    invoice = InvoiceFactory.create(account=account, status="OVERDUE")
    ChargeFactory.create_batch(
        3, account=account, invoice=invoice, status="INVOICED", description="Étiquette de retour"
    )
    small = BusinessAccountFactory.create(
        kind="SMALL_BUSINESS", legal_name="Atelier de poterie des Prairies et du Bouclier"
    )
    AccountLinkFactory.create(account=small, user=admin, right=Right.VALIDATE)
    statement = StatementFactory.create(account=small)
    ChargeFactory.create_batch(2, account=small, statement=statement, status="PAID")
    return {"invoice": invoice, "small": small, "statement": statement}


def _signed_in(busy_account: dict[str, Any]) -> str:
    """A session of the administrator, with "Change rights" of the nameless user at the grid."""
    account, target = busy_account["account"], busy_account["target"]
    client = Client()
    client.force_login(busy_account["admin"])
    client.post(reverse("accounts:change_rights", args=[account.pk, target.pk]), {"way": "custom"})
    return client.session.session_key or ""


def _phone(
    browser: Browser, base: str, language: str, session_key: str, *, for_axe: bool = False
) -> BrowserContext:
    """A phone's browser; `for_axe` lets axe-core in past the portal's CSP."""
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, bypass_csp=for_axe
    )
    context.add_cookies(
        [  # type: ignore[list-item]
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base},
            {"name": settings.SESSION_COOKIE_NAME, "value": session_key, "url": base},
        ]
    )
    return context


def _pages(busy_account: dict[str, Any]) -> dict[str, str]:
    account, target = busy_account["account"], busy_account["target"]
    base = f"/business/{account.pk}"
    return {
        "home": "/",
        "account": f"{base}/",
        "users": f"{base}/users/",
        "rights-grid": f"{base}/users/{target.pk}/rights/custom/",
        "to-validate": f"{base}/to-validate/",
        "audit": f"{base}/audit/",
        "status": "/status/",
        "billing": f"{base}/billing/",
        "payment-methods": f"{base}/billing/payment-methods/",
        "invoices": f"{base}/billing/invoices/",
        "invoice": f"{base}/billing/invoices/{busy_account['invoice'].pk}/",
        "pay": f"{base}/billing/invoices/{busy_account['invoice'].pk}/pay/",
        "small-billing": f"/business/{busy_account['small'].pk}/billing/",
        "statements": f"/business/{busy_account['small'].pk}/billing/statements/",
        "statement": (
            f"/business/{busy_account['small'].pk}/billing/statements/"
            f"{busy_account['statement'].pk}/"
        ),
    }


def _visit(page: Page, url: str, shot: Path) -> list[str]:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    page.screenshot(path=str(shot), full_page=True)
    return [f"{url}: {problem}" for problem in page.evaluate(OUTSIDE)]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_page_fits_a_phone(
    live_server: Any, browser: Browser, busy_account: dict[str, Any], language: str
):
    SHOTS.mkdir(exist_ok=True)
    context = _phone(browser, live_server.url, language, _signed_in(busy_account))
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)

    problems = [
        problem
        for name, path in _pages(busy_account).items()
        for problem in _visit(page, live_server.url + path, SHOTS / f"{name}-{language}.png")
    ]

    context.close()
    assert problems == [], "\n".join(problems)
    assert blocked == []


def test_the_rights_grid_has_boxes_one_can_see_and_tap(
    live_server: Any, browser: Browser, busy_account: dict[str, Any]
):
    context = _phone(browser, live_server.url, "en", _signed_in(busy_account))
    page = context.new_page()
    page.goto(live_server.url + _pages(busy_account)["rights-grid"])

    boxes = page.evaluate(CHECKBOXES)

    context.close()
    assert len(boxes) == 12  # the whole account and three contracts, three levels each
    assert all(box["width"] >= 24 and box["height"] >= 24 for box in boxes), boxes
    assert all(box["contrast"] >= 3 for box in boxes), boxes


@pytest.mark.parametrize("language", ["en", "fr"])
def test_stacked_pages_meet_wcag_aa(
    live_server: Any, browser: Browser, busy_account: dict[str, Any], language: str
):
    """The stacked rows keep the contrast and the structure axe-core checks on a phone."""
    session_key = _signed_in(busy_account)
    context = _phone(browser, live_server.url, language, session_key, for_axe=True)

    problems = [
        violation
        for path in _pages(busy_account).values()
        for violation in _violations(context, live_server.url + path)
    ]

    context.close()
    assert problems == []
