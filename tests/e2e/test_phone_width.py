# ruff: noqa: RUF001 - French typography uses the typographic apostrophe
"""Every page a signed-in administrator uses, on a 390 px phone, in English and in French.

Nothing may stick out sideways: the page does not scroll horizontally, and every table cell,
button and checkbox lies inside the screen (a table that scrolls inside its own box hides its
rights and actions just the same). Pages reached part-way through a task are there too: the
review of a new user and of changed rights, the requests waiting for validation, leaving an
account, linking one, reporting suspicious activity, and allauth's two-factor pages. The rights
grid's checkboxes are big enough to tap and their border stands out from the page (WCAG 2.1 AA
non-text contrast, 3:1). Screenshots are left in /tmp/shots/ for a person to look at.
"""

import datetime
from pathlib import Path
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize

from accounts import actions, audit, services
from accounts.models import AuditEvent
from accounts.rights import Right
from accounts.rightsets import RightSet
from tests.accounts.delegation_factories import PreRegistrationFactory, administrator, with_totp
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
from tests.factories import DEFAULT_PASSWORD, UserFactory
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
    manager = AccountLinkFactory.create(account=account, right=Right.MANAGE)
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
    return {
        "account": account,
        "admin": admin,
        "preparer": preparer,
        "target": target,
        "manager": manager,
        **_billing(account, admin),
    }


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


def _administrator(busy_account: dict[str, Any]) -> Client:
    """The administrator's browser, with "Change rights" of the nameless user at the grid."""
    account, target = busy_account["account"], busy_account["target"]
    client = Client()
    client.force_login(busy_account["admin"])
    client.post(reverse("accounts:change_rights", args=[account.pk, target.pk]), {"way": "custom"})
    return client


def _signed_in(busy_account: dict[str, Any]) -> str:
    """A session of the administrator, with "Change rights" of the nameless user at the grid."""
    return _administrator(busy_account).session.session_key or ""


def _step(client: Client, name: str, args: list[Any], data: dict[str, Any]) -> None:
    response = client.post(reverse(name, args=args), data)
    assert response.status_code == 302, (name, response.content.decode()[:500])


def _part_way(busy_account: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """Sessions part-way through the administrator's other tasks, each with the pages it shows.

    The administrator (an authenticator app, recovery codes and a security key) has a new user
    and changed rights of the nameless user at their review, has just filed a report and entered
    the code again; a second validator's requests wait for them. An administrator without a
    second factor yet, who just typed their password again, sets up an authenticator app or a key.
    """
    account, target = busy_account["account"], busy_account["target"]
    admin, base = busy_account["admin"], f"/business/{account.pk}"
    first, second, third = account.contracts.order_by("number")
    mfa = with_totp(admin)
    RecoveryCodes.activate(admin)
    Authenticator.objects.create(
        user=admin,
        type=Authenticator.Type.WEBAUTHN,
        data={"name": "Clé de sécurité du bureau de Marie-Ève", "credential": {}},
    )
    requests = _requests_to_validate(busy_account)

    client = _administrator(busy_account)
    newcomer = PreRegistrationFactory.create(
        account=account,
        first_name="Xavier-Olivier",
        last_name="Castonguay-Villeneuve",
        email="xavier-olivier.castonguay-villeneuve@pourvoiries-feuille-erable.example",
    )
    _step(client, "accounts:add_user", [account.pk], {"person": newcomer.pk})
    _step(client, "accounts:add_details", [account.pk], {"email": newcomer.email, "language": "fr"})
    _step(client, "accounts:add_rights", [account.pk], {"way": "EXECUTIVE"})
    levels = {"whole": ["10"], f"contract_{first.pk}": ["10", "20", "30"]}
    levels |= {f"contract_{second.pk}": ["10", "20"], f"contract_{third.pk}": ["10", "20", "30"]}
    _step(client, "accounts:change_custom", [account.pk, target.pk], levels)
    description = "Douze commandes d’étiquettes de retour que nous n’avons jamais passées."
    _step(client, "accounts:report", [account.pk], {"description": description})
    # allauth's pages that show or change a second factor ask for it (or the password) again.
    _step(client, "mfa_reauthenticate", [], {"code": mfa.code()})

    unprotected = Client()
    unprotected.force_login(busy_account["preparer"])
    _step(unprotected, "account_reauthenticate", [], {"password": DEFAULT_PASSWORD})

    administrator_pages = {
        "add-review": f"{base}/users/add/review/",
        "change-review": f"{base}/users/{target.pk}/review/",
        "add-user-request": f"{base}/to-validate/{requests[actions.ADD_USER].pk}/",
        "change-rights-request": f"{base}/to-validate/{requests[actions.CHANGE_RIGHTS].pk}/",
        "leave": f"{base}/remove-me/",
        "link": "/business/link/",
        "security": "/business/security/",
        "report": f"{base}/report/",
        "report-done": f"{base}/report/done/",
        "2fa": "/accounts/2fa/",
        "2fa-reauthenticate": "/accounts/2fa/reauthenticate/",
        "recovery-codes": "/accounts/2fa/recovery-codes/",
        "recovery-codes-generate": "/accounts/2fa/recovery-codes/generate/",
        "security-keys": "/accounts/2fa/webauthn/",
        "totp-deactivate": "/accounts/2fa/totp/deactivate/",
    }
    setup_pages = {
        "2fa-off": "/accounts/2fa/",
        "totp-activate": "/accounts/2fa/totp/activate/",
        "security-key-add": "/accounts/2fa/webauthn/add/",
    }
    return [
        (client.session.session_key or "", administrator_pages),
        (unprotected.session.session_key or "", setup_pages),
    ]


def _requests_to_validate(busy_account: dict[str, Any]) -> dict[str, Any]:
    """A second validator asks to add a person and to raise a user's rights, Validate included."""
    account = busy_account["account"]
    first, second, _ = account.contracts.order_by("number")
    preparer = administrator(account, first_name="Jean-François", last_name="Lévesque-Bouchard")
    person = PreRegistrationFactory.create(
        account=account,
        first_name="Marie-Claude",
        last_name="Desjardins-Fournier",
        email="marie-claude.desjardins-fournier@pourvoiries-feuille-erable.example",
    )
    chosen = RightSet({None: Right.CONSULT, first.pk: Right.VALIDATE, second.pk: Right.MANAGE})
    added = actions.add_user_payload(
        person=person, email=person.email, language="fr", chosen=chosen
    )
    changed = actions.change_rights_payload(link=busy_account["manager"], chosen=chosen)
    return {
        kind: services.prepare_request(
            actor=preparer.user, account=account, kind=kind, payload=payload, ip=None
        )
        for kind, payload in ((actions.ADD_USER, added), (actions.CHANGE_RIGHTS, changed))
    }


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
    assert page.url == url, f"{url} led to {page.url}"  # not a step's redirect to another page
    page.screenshot(path=str(shot), full_page=True)
    return [f"{url}: {problem}" for problem in page.evaluate(OUTSIDE)]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_page_fits_a_phone(
    live_server: Any, browser: Browser, busy_account: dict[str, Any], language: str
):
    SHOTS.mkdir(exist_ok=True)
    sessions = [(_signed_in(busy_account), _pages(busy_account)), *_part_way(busy_account)]
    problems: list[str] = []
    blocked: list[str] = []

    for session_key, pages in sessions:
        context = _phone(browser, live_server.url, language, session_key)
        page = context.new_page()
        page.on(
            "console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None
        )
        problems += [
            problem
            for name, path in pages.items()
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
