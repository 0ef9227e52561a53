"""The support admin: staff only, behind allauth's sign-in and a second factor."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from tests.accounts.factories import BusinessAccountFactory, ContactFactory, ContractFactory
from tests.conftest import MFAUser

pytestmark = pytest.mark.django_db

MODEL_PAGES = [
    "admin:accounts_businessaccount_changelist",
    "admin:accounts_businessaccount_add",
    "admin:accounts_contract_changelist",
    "admin:accounts_contract_add",
    "admin:accounts_contact_changelist",
    "admin:accounts_contact_add",
]


def _sign_in_with_two_factors(client, mfa: MFAUser) -> None:
    response = client.post(
        reverse("account_login"), {"login": mfa.user.email, "password": mfa.password}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    response = client.post(reverse("mfa_authenticate"), {"code": mfa.code()})
    assert response.status_code == 302, response.content.decode()


def test_staff_with_two_factors_signs_in_through_allauth_and_reaches_the_admin(
    client, mfa_staff_user
):
    _sign_in_with_two_factors(client, mfa_staff_user)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert b"Business Portal" in response.content
    assert reverse("admin:accounts_businessaccount_changelist").encode() in response.content


@pytest.mark.parametrize("page", MODEL_PAGES)
def test_staff_with_two_factors_loads_each_account_page(client, mfa_staff_user, page):
    ContractFactory()
    ContactFactory()
    client.force_login(mfa_staff_user.user)

    response = client.get(reverse(page))

    assert response.status_code == 200
    assert response.context["user"] == mfa_staff_user.user


def test_change_page_of_an_account_shows_its_contracts_and_contacts(client, mfa_staff_user):
    contract = ContractFactory()
    contact = ContactFactory(account=contract.account)
    client.force_login(mfa_staff_user.user)

    response = client.get(
        reverse("admin:accounts_businessaccount_change", args=[contract.account.pk])
    )

    assert response.status_code == 200
    assert contract.number.encode() in response.content
    assert contact.email.encode() in response.content


@pytest.mark.parametrize(
    "page", ["admin:index", "admin:accounts_businessaccount_changelist", *MODEL_PAGES]
)
def test_staff_without_two_factors_is_sent_to_turn_it_on(client, staff_user, page):
    client.force_login(staff_user)

    response = client.get(reverse(page))

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_index")


def test_anonymous_is_sent_to_allauth_sign_in_not_the_admin_form(client):
    response = client.get(reverse("admin:accounts_businessaccount_changelist"), follow=True)

    first_hop = urlsplit(response.redirect_chain[0][0]).path
    assert first_hop == reverse("admin:login")
    final = urlsplit(response.redirect_chain[-1][0])
    assert final.path == reverse("account_login")
    assert parse_qs(final.query)["next"] == [reverse("admin:accounts_businessaccount_changelist")]
    assert response.status_code == 200
    # allauth's form asks for the e-mail; the admin's form would ask for a username.
    assert b'name="login"' in response.content
    assert b'name="username"' not in response.content


def test_admin_login_page_itself_redirects_to_allauth(client):
    response = client.get(reverse("admin:login"), {"next": "https://evil.example/"})

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("account_login")
    # A foreign `next` is replaced by the admin index.
    assert parse_qs(location.query)["next"] == [reverse("admin:index")]


def test_signed_in_customer_is_refused_the_admin(client, user):
    BusinessAccountFactory(legal_name="Secret Holdings")
    client.force_login(user)

    response = client.get(reverse("admin:accounts_businessaccount_changelist"), follow=True)

    assert response.status_code == 403
    assert b"Secret Holdings" not in response.content
    # No password form is offered to switch to another (staff) profile.
    assert b'name="password"' not in response.content


@pytest.mark.parametrize("signed_in_as", ["nobody", "customer"])
def test_admin_password_form_cannot_bypass_the_second_factor(
    client, user, mfa_staff_user, signed_in_as
):
    if signed_in_as == "customer":
        client.force_login(user)

    client.post(
        reverse("admin:login"),
        {"username": mfa_staff_user.user.username, "password": mfa_staff_user.password},
    )

    assert client.session.get("_auth_user_id") != str(mfa_staff_user.user.pk)
    assert client.get(reverse("admin:index")).status_code != 200


def test_customer_with_two_factors_still_cannot_use_the_admin(client, mfa_user):
    BusinessAccountFactory(legal_name="Secret Holdings")
    client.force_login(mfa_user.user)

    response = client.get(reverse("admin:accounts_businessaccount_changelist"))

    assert response.status_code == 302
    assert b"Secret Holdings" not in response.content


@pytest.mark.parametrize(
    "page, query, expected, unexpected",
    [
        ("businessaccount", "Boreal", "Boreal Distribution", "Prairie Pottery"),
        ("businessaccount", "0007654321", "Boreal Distribution", "Prairie Pottery"),
        ("businessaccount", "owner@prairie.example", "Prairie Pottery", "Boreal Distribution"),
        ("contract", "4098765432", "4098765432", "4011112222"),
        ("contact", "owner@prairie", "owner@prairie.example", "julien@boreal.example"),
    ],
)
def test_admin_search(client, mfa_staff_user, page, query, expected, unexpected):
    boreal = BusinessAccountFactory(legal_name="Boreal Distribution", customer_number="0007654321")
    prairie = BusinessAccountFactory(legal_name="Prairie Pottery", customer_number="0002468135")
    ContractFactory(account=boreal, number="4098765432")
    ContractFactory(account=prairie, number="4011112222")
    ContactFactory(account=boreal, email="julien@boreal.example")
    ContactFactory(account=prairie, email="owner@prairie.example")
    client.force_login(mfa_staff_user.user)

    response = client.get(reverse(f"admin:accounts_{page}_changelist"), {"q": query})

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    assert expected.encode() in response.content
    assert unexpected.encode() not in response.content


def test_admin_login_page_sends_signed_in_staff_on(client, mfa_staff_user, staff_user):
    target = reverse("admin:accounts_contract_changelist")
    client.force_login(mfa_staff_user.user)
    response = client.get(reverse("admin:login"), {"next": target})
    assert response.status_code == 302
    assert response["Location"] == target

    client.force_login(staff_user)  # no second factor yet
    response = client.get(reverse("admin:login"), {"next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_index")
