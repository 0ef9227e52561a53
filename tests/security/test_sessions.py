"""Sessions: a new key at sign-in and at every change of what the session may do in its own
request (password, second factor on or off, a business account linked); the old key stops
working. A change someone else makes (rights, staff status, a removed link) cannot rotate the
person's session: rights are read from the database on each request, so it applies on the next.
"""

from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountLink, Contact
from accounts.rights import Right
from tests.accounts.delegation_factories import administrator
from tests.accounts.factories import BusinessAccountFactory, ContactFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.conftest import MFAUser, totp_code
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Another-long-passphrase-42"


def key_of(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def planted_key(client: Client) -> str:
    """A session that exists before signing in: the key someone could have planted or read."""
    session = client.session
    session["visited"] = True
    session.save()
    return str(session.session_key)


def assert_dead(old_key: str) -> None:
    """Nobody holding the old key is signed in: its session is gone."""
    assert not SessionStore().exists(old_key)
    assert SESSION_KEY not in SessionStore(session_key=old_key).load()


def sign_in(client: Client, user: Any, password: str = DEFAULT_PASSWORD) -> None:
    response = client.post(reverse("account_login"), {"login": user.email, "password": password})
    assert response.status_code == 302, response.content.decode()[:500]


def assert_signed_in_as(client: Client, user: Any) -> None:
    assert client.session[SESSION_KEY] == str(user.pk)
    assert client.get(reverse("home")).status_code == 200


# --- sign-in --------------------------------------------------------------------------------


def test_signing_in_gives_a_new_session_key(client, user):
    before = planted_key(client)

    sign_in(client, user)

    assert key_of(client) != before
    assert_dead(before)
    assert client.session["visited"] is True  # the visit's data is kept, under the new key
    assert_signed_in_as(client, user)


def test_signing_in_with_a_second_factor_gives_a_new_session_key(client, mfa_user: MFAUser):
    before = planted_key(client)
    sign_in(client, mfa_user.user, mfa_user.password)  # on to the code: not signed in yet
    assert SESSION_KEY not in client.session

    response = client.post(reverse("mfa_authenticate"), {"code": mfa_user.code()})

    assert response.status_code == 302
    assert key_of(client) != before
    assert_dead(before)
    assert_signed_in_as(client, mfa_user.user)


# --- changes made in the session's own request ------------------------------------------------


def test_changing_the_password_gives_a_new_key_and_keeps_the_person_signed_in(client, user):
    sign_in(client, user)
    before = key_of(client)

    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": DEFAULT_PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 302, response.content.decode()[:500]
    assert key_of(client) != before
    assert_dead(before)
    assert_signed_in_as(client, user)


def test_a_password_change_signs_out_the_person_s_other_sessions(user):
    phone, laptop = Client(), Client()
    sign_in(phone, user)
    sign_in(laptop, user)

    laptop.post(
        reverse("account_change_password"),
        {"oldpassword": DEFAULT_PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert phone.get(reverse("home"))["Location"].startswith(reverse("account_login"))
    assert_signed_in_as(laptop, user)


# on_commit must run inside the request, as it does in production: allauth announces a new
# authenticator only once its transaction commits.
@pytest.mark.django_db(transaction=True)
def test_turning_the_second_factor_on_gives_a_new_session_key(client):
    user = UserFactory.create()
    sign_in(client, user)
    # allauth asks for the password again before adding a factor, even right after sign-in.
    assert (
        client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD}).status_code
        == 302
    )
    assert client.get(reverse("mfa_activate_totp")).status_code == 200
    secret = client.session["mfa.totp.secret"]
    before = key_of(client)

    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})

    assert response.status_code == 302, response.content.decode()[:500]
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert key_of(client) != before
    assert_dead(before)
    assert_signed_in_as(client, user)


def test_turning_the_second_factor_off_gives_a_new_session_key(client, mfa_user: MFAUser):
    AccountLinkFactory.create(user=mfa_user.user, method=AccountLink.Method.SELF)  # may turn off
    client.force_login(mfa_user.user)
    assert client.post(reverse("mfa_reauthenticate"), {"code": mfa_user.code()}).status_code == 302
    before = key_of(client)

    response = client.post(reverse("mfa_deactivate_totp"))

    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=mfa_user.user).exists()
    assert key_of(client) != before
    assert_dead(before)
    assert_signed_in_as(client, mfa_user.user)


def test_linking_a_business_account_gives_a_new_session_key(
    client, user, django_capture_on_commit_callbacks
):
    account = BusinessAccountFactory.create(customer_number="0007654321", postal_code="K1A 0B1")
    contract = ContractFactory.create(account=account)
    ContactFactory.create(account=account, role=Contact.Role.PRIMARY)
    client.force_login(user)
    before = key_of(client)
    proofs = {
        "customer_number": account.customer_number,
        "postal_code": account.postal_code,
        "contract_number": contract.number,
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:link"), proofs)

    assert response["Location"] == reverse("accounts:detail", args=[account.pk])
    assert key_of(client) != before
    assert_dead(before)
    assert_signed_in_as(client, user)


def test_a_refused_link_keeps_the_session_key(client, user):
    client.force_login(user)
    before = key_of(client)

    response = client.post(
        reverse("accounts:link"),
        {"customer_number": "0000000001", "postal_code": "K1A 0B1", "contract_number": ""},
    )

    assert response.status_code == 400
    assert key_of(client) == before


# --- changes made by someone else apply on the person's next request --------------------------


def test_rights_lowered_by_an_administrator_apply_on_the_next_request(client):
    account = BusinessAccountFactory.create()
    link = administrator(account, level=Right.VALIDATE)
    client.force_login(link.user)
    users_page = reverse("accounts:users", args=[account.pk])
    assert client.get(users_page).status_code == 200
    before = key_of(client)

    # Another administrator's request: no administration any more, consult only.
    AccountLink.objects.filter(pk=link.pk).update(is_administrator=False)
    link.grants.update(level=Right.CONSULT)

    assert client.get(users_page).status_code == 404
    assert client.get(reverse("accounts:detail", args=[account.pk])).status_code == 200
    assert key_of(client) == before  # the same session, already holding less


def test_a_removed_link_closes_the_account_on_the_next_request(client):
    link = AccountLinkFactory.create(right=Right.VALIDATE)
    client.force_login(link.user)
    page = reverse("accounts:detail", args=[link.account_id])
    assert client.get(page).status_code == 200

    AccountLink.objects.filter(pk=link.pk).update(
        status=AccountLink.Status.REMOVED, removed_at=timezone.now()
    )

    assert client.get(page).status_code == 404


def test_staff_status_taken_away_closes_the_admin_on_the_next_request(client, mfa_staff_user):
    client.force_login(mfa_staff_user.user)
    assert client.get(reverse("admin:index")).status_code == 200

    type(mfa_staff_user.user).objects.filter(pk=mfa_staff_user.user.pk).update(
        is_staff=False, is_superuser=False
    )

    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 403  # the admin's sign-in refuses
