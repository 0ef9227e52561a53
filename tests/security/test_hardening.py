"""The promises of SECURITY.md that no other test proves: a strict Content-Security-Policy and no
framing on every response (error pages, the maintenance page and the admin included), the
cookie flags, the same answer for known and unknown addresses, limits on guessing a second
factor, an append-only audit trail and rights read afresh on every request.
"""

import datetime
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path, reverse
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEvent
from accounts.phones import for_display
from accounts.rights import Right
from outages.models import Interruption, MaintenanceWindow
from tests.accounts.delegation_factories import PreRegistrationFactory, administrator, with_totp
from tests.accounts.link_factories import AccountLinkFactory
from tests.conftest import MFAUser
from tests.factories import DEFAULT_PASSWORD
from tests.portal.test_settings import PRODUCTION_ENV, _clean_env, _run

pytestmark = pytest.mark.django_db

# The directives whose values must never loosen; any 'unsafe-*' source anywhere is a failure.
STRICT_DIRECTIVES = {
    "default-src": ["'self'"],
    "style-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a plain bug")


# The URLconf of the tests marked with it: the portal's, plus a view that fails.
urlpatterns = [path("boom/", _boom), path("", include("portal.urls"))]
handler500 = "portal.errors.server_error"


def assert_strict_policy(response: Any) -> None:
    """The response carries the strict policy, and refuses to be framed in two ways."""
    header = response.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on a {response.status_code}"
    directives = {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }
    for name, values in STRICT_DIRECTIVES.items():
        assert directives.get(name) == values, (name, header)
    assert "unsafe-" not in header
    assert "*" not in header.replace("*.", "")  # no wildcard source
    assert response["X-Frame-Options"] == "DENY"


def _refuse(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: refused")


@contextmanager
def database_down() -> Iterator[None]:
    with connection.execute_wrapper(_refuse):
        yield


def close_features(*features: str) -> None:
    """A maintenance window covering now turns `features` off."""
    now = timezone.now()
    window = MaintenanceWindow.objects.create(
        title_en="Maintenance",
        title_fr="Entretien",
        starts_at=now - datetime.timedelta(hours=1),
        ends_at=now + datetime.timedelta(hours=2),
    )
    Interruption.objects.create(
        window=window,
        application_en="Portal",
        application_fr="Portail",
        description_en="Everything",
        description_fr="Tout",
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        features=list(features),
    )
    cache.clear()  # the gate drops its snapshot on commit, which a test never reaches


# --- the policy on every kind of response ----------------------------------------------------


def test_an_ordinary_page_carries_the_strict_policy(client):
    response = client.get(reverse("account_login"))

    assert response.status_code == 200
    assert_strict_policy(response)


def test_the_404_page_carries_the_strict_policy(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert_strict_policy(response)


def test_the_403_page_carries_the_strict_policy(client, user):
    client.force_login(user)  # a customer is refused the admin's sign-in page

    response = client.get(reverse("admin:login"))

    assert response.status_code == 403
    assert_strict_policy(response)


def test_the_csrf_failure_page_carries_the_strict_policy(user):
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("account_login"), {"login": user.email, "password": "x"})

    assert response.status_code == 403
    assert_strict_policy(response)


@pytest.mark.urls(__name__)
def test_the_500_page_carries_the_strict_policy():
    response = Client(raise_request_exception=False).get("/boom/")

    assert response.status_code == 500
    assert_strict_policy(response)


def test_the_database_outage_page_carries_the_strict_policy(client):
    with database_down():
        response = client.get(reverse("outages:archive"))

    assert response.status_code == 503
    assert_strict_policy(response)


def test_an_outage_met_in_a_middleware_answers_with_the_strict_policy_too(user):
    client = Client(raise_request_exception=False)
    client.force_login(user)

    with database_down():
        response = client.get(reverse("home"))

    assert response.status_code == 503
    assert_strict_policy(response)


def test_the_maintenance_page_carries_the_strict_policy(client):
    close_features("sign_in")

    response = client.get(reverse("account_login"))

    assert response.status_code == 503
    assert "Retry-After" in response
    assert_strict_policy(response)


def test_the_rate_limited_page_carries_the_strict_policy(client, settings):
    settings.RETURNS_LINK_VIEWS_PER_IP = 0
    url = reverse("returns:direct_link", args=["no-such-policy-slug-000000"])

    response = client.get(url)

    assert response.status_code == 429
    assert_strict_policy(response)


def test_a_refused_host_carries_the_strict_policy():
    response = Client(raise_request_exception=False).get("/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert_strict_policy(response)


def test_the_admin_carries_the_strict_policy(client, mfa_staff_user):
    client.force_login(mfa_staff_user.user)

    for url in (reverse("admin:index"), reverse("admin:accounts_auditevent_changelist")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_strict_policy(response)


# --- cookies and transport in production (a fresh interpreter on the production settings) -----

COOKIE_PROBE = """
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", "sessions", verbosity=0)
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.test import RequestFactory

def view(request):
    request.session["signed_in"] = True
    get_token(request)
    return HttpResponse("ok")

request = RequestFactory().get("/", secure=True, HTTP_HOST="portal.example")
response = SessionMiddleware(CsrfViewMiddleware(view))(request)
print(json.dumps({
    name: {"secure": bool(m["secure"]), "httponly": bool(m["httponly"]), "samesite": m["samesite"]}
    for name, m in response.cookies.items()
}))
"""


def test_production_cookies_are_secure_http_only_and_same_site():
    result = _run(["-c", COOKIE_PROBE], _clean_env(**PRODUCTION_ENV))

    assert result.returncode == 0, result.stderr
    cookies = json.loads(result.stdout.strip().splitlines()[-1])
    strict = {"secure": True, "httponly": True, "samesite": "Lax"}
    assert cookies == {"sessionid": strict, "csrftoken": strict}


# --- nothing tells what exists ------------------------------------------------------------------


def _page(response: Any, typed: str) -> str:
    """The page without what differs on every request (the CSRF token) and the typed address
    it repeats back."""
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
    return page.replace(typed, "<typed>")


def test_signing_up_with_a_taken_address_answers_as_with_a_new_one(user):
    answers = []
    for email in (user.email, "nobody-yet@business.example"):
        response = Client().post(
            reverse("account_signup"),
            {
                "email": email,
                "password1": "A-long-new-passphrase-7",
                "password2": "A-long-new-passphrase-7",
            },
            follow=True,
        )
        answers.append((response.status_code, response.redirect_chain, _page(response, email)))

    assert answers[0] == answers[1]
    assert answers[0][1][-1][0] == reverse("account_email_verification_sent")


def test_a_reset_for_an_unknown_address_answers_as_for_a_known_one(user):
    answers = []
    for email in (user.email, "nobody@business.example"):
        response = Client().post(reverse("account_reset_password"), {"email": email}, follow=True)
        answers.append((response.status_code, response.redirect_chain, _page(response, email)))

    assert answers[0] == answers[1]
    assert answers[0][1][-1][0] == reverse("account_reset_password_done")


def test_a_wrong_password_and_an_unknown_address_get_the_same_refusal(user):
    answers = []
    for email in (user.email, "nobody@business.example"):
        response = Client().post(
            reverse("account_login"), {"login": email, "password": "Not-the-password-1"}
        )
        answers.append((response.status_code, response.context["form"].errors))

    assert answers[0] == answers[1]
    assert answers[0][0] == 200


# --- the second factor cannot be guessed --------------------------------------------------------


@pytest.mark.parametrize("page", ["mfa_authenticate", "mfa_reauthenticate"])
def test_guessing_the_second_factor_is_stopped_after_five_tries(
    client, mfa_user: MFAUser, settings, page
):
    """allauth counts wrong codes per profile (production's `login_failed` limit: 5 in 5 min);
    once reached, even the right code is refused."""
    import portal.settings as production

    settings.ACCOUNT_RATE_LIMITS = production.ACCOUNT_RATE_LIMITS
    if page == "mfa_authenticate":
        response = client.post(
            reverse("account_login"), {"login": mfa_user.user.email, "password": mfa_user.password}
        )
        assert response["Location"] == reverse("mfa_authenticate")
    else:
        client.force_login(mfa_user.user)
    right = mfa_user.code()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    refusals = [client.post(reverse(page), {"code": wrong}) for _ in range(5)]
    last = client.post(reverse(page), {"code": right})

    assert [r.status_code for r in refusals] == [200] * 5
    assert last.status_code == 200  # the form again, not a way in
    assert "Too many failed" in last.content.decode()
    if page == "mfa_authenticate":
        assert "_auth_user_id" not in client.session


# --- the audit trail is append-only -------------------------------------------------------------


def _event() -> AuditEvent:
    return audit.record(actor=None, account=None, event=AuditEvent.Event.LINK_REFUSED, ip=None)


def test_an_audit_row_cannot_be_deleted():
    event = _event()

    with pytest.raises(ValueError, match="append-only"):
        event.delete()

    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_audit_rows_cannot_be_changed_or_deleted_in_bulk():
    event = _event()

    with pytest.raises(ValueError, match="append-only"):
        AuditEvent.objects.filter(pk=event.pk).update(event=AuditEvent.Event.LINKED)
    with pytest.raises(ValueError, match="append-only"):
        AuditEvent.objects.all().delete()

    event.refresh_from_db()
    assert event.event == AuditEvent.Event.LINK_REFUSED


def test_deleting_a_user_or_an_account_keeps_their_audit_rows():
    link = AccountLinkFactory.create()
    event = audit.record(
        actor=link.user, account=link.account, event=AuditEvent.Event.LINKED, ip="192.0.2.8"
    )
    email, number = link.user.email, link.account.customer_number

    link.user.delete()
    link.account.delete()

    event.refresh_from_db()
    assert (event.actor_id, event.account_id) == (None, None)
    assert (event.actor_email, event.customer_number) == (email, number)


# --- personal data: the pre-registered person's date of birth and mobile ----------------------


def test_birth_date_and_mobile_show_only_to_administrators_who_may_add_users(client):
    person = PreRegistrationFactory.create(date_of_birth=datetime.date(1979, 11, 23))
    account = person.account
    mobile = for_display(person.mobile_phone)
    other_business = administrator(AccountLinkFactory.create().account).user
    may_add = with_totp(administrator(account, level=Right.MANAGE).user).user
    may_not = {
        "validator without administration": AccountLinkFactory.create(
            account=account, right=Right.VALIDATE
        ).user,
        "administrator who may only consult": administrator(account, level=Right.CONSULT).user,
        "administrator of another business": other_business,
    }
    add_page = reverse("accounts:add_user", args=[account.pk])

    client.force_login(may_add)
    shown = client.get(add_page).content.decode()
    assert "1979" in shown and mobile in shown

    for who, user in may_not.items():
        client.force_login(user)
        assert client.get(add_page).status_code == 404, who
        for url in (
            reverse("accounts:detail", args=[account.pk]),
            reverse("accounts:users", args=[account.pk]),
            reverse("home"),
        ):
            page = client.get(url).content.decode()
            assert "1979" not in page and mobile not in page, (who, url)


# --- passwords ------------------------------------------------------------------------------


@pytest.mark.parametrize(("password", "accepted"), [("Xq7#mPz!vR2", False), ("Xq7#mPz!vR2k", True)])
def test_a_new_password_needs_twelve_characters(client, password, accepted):
    response = client.post(
        reverse("account_signup"),
        {"email": "newcomer@business.example", "password1": password, "password2": password},
    )

    if accepted:
        assert response.status_code == 302
    else:
        assert response.status_code == 200
        assert "at least 12 characters" in str(response.context["form"].errors)


def test_a_changed_password_needs_twelve_characters_too(client, user):
    client.force_login(user)
    short = "Xq7#mPz!vR2"

    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": DEFAULT_PASSWORD, "password1": short, "password2": short},
    )

    assert response.status_code == 200
    assert "at least 12 characters" in str(response.context["form"].errors)
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)
