"""A delegated user's first sign-in: the texted password works for 72 hours, then they must set
their own password and enrol a second factor before any other page."""

import datetime

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import User
from accounts.rights import Right
from accounts.rightsets import RightSet
from tests.accounts.delegation_factories import (
    PreRegistrationFactory,
    administrator,
    texted_password,
)
from tests.accounts.factories import BusinessAccountFactory
from tests.conftest import totp_code

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Parcel-returns-2026!"


@pytest.fixture
def texted(django_capture_on_commit_callbacks, sms_outbox):
    """A user just added by an administrator, and the password texted to them."""
    account = BusinessAccountFactory.create()
    admin = administrator(account).user
    person = PreRegistrationFactory.create(account=account, email="new@business.example")
    with django_capture_on_commit_callbacks(execute=True):
        link = services.add_user(
            actor=admin,
            account=account,
            pre_registration_id=person.pk,
            chosen=RightSet({None: Right.MANAGE}),
            ip=None,
        )
    password = texted_password(sms_outbox[0].body)
    # Its owner confirmed the address through allauth's link (mandatory before signing in; the
    # link itself is followed in test_delegation_identity.py).
    EmailAddress.objects.filter(user_id=link.user_id).update(verified=True)
    return User.objects.get(pk=link.user_id), password, account


def sign_in(client, email, password):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def test_every_page_leads_to_the_password_then_to_the_second_factor(client, texted):
    user, password, account = texted

    signed_in = sign_in(client, user.email, password)
    assert signed_in.status_code == 302
    for page in (
        reverse("home"),
        reverse("accounts:detail", args=[account.pk]),
        reverse("mfa_index"),
    ):
        assert client.get(page)["Location"] == reverse("account_change_password")
    assert client.get(reverse("account_change_password")).status_code == 200

    changed = client.post(
        reverse("account_change_password"),
        {"oldpassword": password, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert changed.status_code == 302
    user.refresh_from_db()
    assert user.temporary_password_expires_at is None and user.check_password(NEW_PASSWORD)

    for page in (reverse("home"), reverse("accounts:detail", args=[account.pk])):
        assert client.get(page)["Location"] == reverse("mfa_activate_totp")
    assert client.get(reverse("mfa_index")).status_code == 200  # the steps themselves are open

    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    assert client.get(reverse("home")).status_code == 200
    user.refresh_from_db()
    assert user.must_enrol_second_factor is False
    assert client.get(reverse("accounts:detail", args=[account.pk])).status_code == 200
    assert totp_code(secret)  # the authenticator works for the next sign-in


def test_signing_out_and_switching_language_stay_open(client, texted):
    user, password, _account = texted
    sign_in(client, user.email, password)

    assert client.post(reverse("set_language"), {"language": "fr"}).status_code == 302
    assert client.post(reverse("account_logout")).status_code == 302


def test_the_temporary_password_stops_working_after_72_hours(client, texted):
    user, password, _account = texted
    User.objects.filter(pk=user.pk).update(
        temporary_password_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )

    response = sign_in(client, user.email, password)

    assert response.status_code == 200
    assert "temporary password has expired" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_reset_password_replaces_the_temporary_one(texted):
    from allauth.account.adapter import get_adapter

    user, _password, _account = texted
    get_adapter().set_password(user, NEW_PASSWORD)

    user.refresh_from_db()
    assert user.temporary_password_expires_at is None


def test_ordinary_users_are_not_stopped(client, user):
    client.force_login(user)

    assert client.get(reverse("home")).status_code == 200
