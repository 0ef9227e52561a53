"""allauth's e-mails name the portal and its address, in the recipient's language, with "courriel".

Every e-mail goes through a real request and the outbox ("allauth.message": one row per message,
sent by the Celery task, eager in tests, after commit; its text forgotten once sent).
"""

import re

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.core import mail
from django.urls import reverse

from portal.models import Delivery
from tests.conftest import totp_code
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NAMES = {"en": "Business Portal", "fr": "Portail d\u2019entreprise"}
NEW_PASSWORD = "Parcel-returns-2026!"
LINK = re.compile(r"https?://\S+")


@pytest.fixture
def sent(django_capture_on_commit_callbacks, mailoutbox):
    """Run a request and return the e-mails it sent once its transaction committed."""

    def run(request, *args, **kwargs):
        before, queued = len(mailoutbox), set(rows().values_list("pk", flat=True))
        with django_capture_on_commit_callbacks(execute=True):
            response = request(*args, **kwargs)
        assert response.status_code in (200, 302), response.content.decode()[:500]
        new = rows().exclude(pk__in=queued)
        assert [(row.status, row.facts) for row in new] == [(Delivery.Status.SENT, {})] * len(
            mailoutbox[before:]
        )
        return mailoutbox[before:]

    return run


def rows():
    return Delivery.objects.filter(kind="allauth.message")


def french(client) -> None:
    client.post(reverse("set_language"), {"language": "fr", "next": "/"})


def assert_portal_email(message: mail.EmailMessage, language: str) -> str:
    """The portal's name in the subject prefix and the body, its address, no blank, no "e-mail"
    in French; returns the body."""
    body = str(message.body)
    name = NAMES[language]
    assert message.subject.startswith(f"[{name}] "), message.subject
    assert name in body, body
    assert "testserver" in body, body
    assert "Hello from" not in body, body
    assert "[Portal]" not in message.subject
    if language == "fr":
        words = LINK.sub("", f"{message.subject}\n{body}")
        words = re.sub(r"\S+@\S+", "", words)  # addresses, not words
        assert not re.search(r"\be-?mails?\b", words, re.IGNORECASE), words
        assert "Bonjour" in body, body
    else:
        assert "Hello," in body, body
    return body


# --- sign-up --------------------------------------------------------------------------------


def _sign_up(client, email="new.owner@business.example"):
    return client.post(
        reverse("account_signup"),
        {"email": email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )


@pytest.mark.parametrize("language", ["en", "fr"])
def test_signup_confirmation(client, sent, language):
    if language == "fr":
        french(client)

    [message] = sent(_sign_up, client)

    body = assert_portal_email(message, language)
    assert re.search(r"http://testserver/accounts/confirm-email/\S+/", body)
    expected = {"en": "Confirm your e-mail address", "fr": "Confirmez votre adresse de courriel"}
    assert message.subject == f"[{NAMES[language]}] {expected[language]}"


def test_signing_up_with_a_taken_address_tells_its_owner_in_their_language(client, sent):
    owner = UserFactory(language="fr")

    [message] = sent(_sign_up, client, owner.email)

    body = assert_portal_email(message, "fr")
    assert owner.email in body
    assert "http://testserver/accounts/password/reset/" in body


# --- password reset -------------------------------------------------------------------------


def _reset(client, email):
    return client.post(reverse("account_reset_password"), {"email": email})


def test_a_french_profile_gets_its_reset_e_mail_in_french_from_an_english_page(client, sent):
    user = UserFactory(language="fr")

    [message] = sent(_reset, client, user.email)

    body = assert_portal_email(message, "fr")
    assert message.subject == f"[{NAMES['fr']}] Choisissez un nouveau mot de passe"
    assert re.search(r"http://testserver/accounts/password/reset/key/\S+/", body)
    assert user.email in body


def test_an_english_profile_gets_its_reset_e_mail_in_english_from_a_french_page(client, sent):
    user = UserFactory(language="en")
    french(client)

    [message] = sent(_reset, client, user.email)

    assert_portal_email(message, "en")
    assert message.subject == "[Business Portal] Choose a new password"


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_reset_for_an_unknown_address_follows_the_page_language(client, sent, language):
    if language == "fr":
        french(client)

    [message] = sent(_reset, client, "nobody@business.example")

    body = assert_portal_email(message, language)
    assert "nobody@business.example" in body
    assert "http://testserver/accounts/signup/" in body


# --- security notifications -----------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_password_change_is_told_with_the_portal_s_name(client, sent, language):
    user = UserFactory(language=language)
    client.force_login(user)

    [message] = sent(
        client.post,
        reverse("account_change_password"),
        {"oldpassword": DEFAULT_PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert_portal_email(message, language)
    assert message.to == [user.email]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_adding_then_removing_an_address(client, sent, language):
    user = UserFactory(language=language)
    client.force_login(user)

    [confirmation] = sent(
        client.post,
        reverse("account_email"),
        {"email": "second@business.example", "action_add": ""},
    )
    [removed] = sent(
        client.post,
        reverse("account_email"),
        {"email": "second@business.example", "action_remove": ""},
    )

    assert confirmation.to == ["second@business.example"]
    assert_portal_email(confirmation, language)
    assert removed.to == [user.email]
    assert "second@business.example" in assert_portal_email(removed, language)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_making_another_address_primary_tells_the_old_one(client, sent, language):
    user = UserFactory(language=language)
    EmailAddress.objects.create(user=user, email="second@business.example", verified=True)
    client.force_login(user)

    messages = sent(
        client.post,
        reverse("account_email"),
        {"email": "second@business.example", "action_primary": ""},
    )

    [changed] = [m for m in messages if m.to == [user.email]]
    body = assert_portal_email(changed, language)
    assert "second@business.example" in body


@pytest.mark.parametrize("language", ["en", "fr"])
def test_turning_on_the_authenticator_app_is_told(client, sent, language):
    user = UserFactory(language=language)
    client.force_login(user)
    assert (
        client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD}).status_code
        == 302
    )
    assert client.get(reverse("mfa_activate_totp")).status_code == 200
    secret = client.session["mfa.totp.secret"]

    messages = sent(client.post, reverse("mfa_activate_totp"), {"code": totp_code(secret)})

    assert messages
    for message in messages:
        assert message.to == [user.email]
        assert_portal_email(message, language)
    # Enrolled through the pages: the stored secret is not the one the app was given.
    stored = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP).data["secret"]
    assert stored != secret
