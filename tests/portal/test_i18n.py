"""English by default, Canadian French on request, and clear messages for bad input in both."""

import html

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.conftest import MFAUser

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "Parcel-return-2026!"


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _switch_to_french(client, next_url: str = "/") -> None:
    response = client.post(reverse("set_language"), {"language": "fr", "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == next_url
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"


@pytest.mark.parametrize(
    "page, english, french",
    [
        ("account_login", ["Sign In", "Password"], ["Connexion", "Mot de passe"]),
        ("account_signup", ["Sign Up", "Password"], ["Création de compte", "Mot de passe"]),
        ("account_reset_password", ["Password Reset"], ["Réinitialisation du mot de passe"]),
    ],
)
def test_pages_are_english_by_default_and_french_after_the_switch(client, page, english, french):
    url = reverse(page)

    response = client.get(url)
    assert response.status_code == 200
    assert '<html lang="en-CA">' in _text(response)
    for words in english:
        assert words in _text(response)

    _switch_to_french(client, next_url=url)
    response = client.get(url)

    assert response.status_code == 200
    assert '<html lang="fr-CA">' in _text(response)
    for words in french:
        assert words in _text(response)
    assert "Sign In" not in _text(response)


def test_the_switch_offers_the_other_language(client):
    response = client.get(reverse("account_login"))
    assert 'name="language" value="fr"' in _text(response)
    assert "Français" in _text(response)

    _switch_to_french(client, next_url=reverse("account_login"))
    response = client.get(reverse("account_login"))

    assert 'name="language" value="en"' in _text(response)
    assert "English" in _text(response)


def test_browser_language_is_honoured_without_a_cookie(client):
    response = client.get(reverse("account_login"), headers={"accept-language": "fr-CA,fr;q=0.9"})

    assert '<html lang="fr-CA">' in _text(response)
    assert "Connexion" in _text(response)


def test_unknown_language_is_ignored(client):
    client.post(reverse("set_language"), {"language": "xx", "next": "/"})

    response = client.get(reverse("account_login"))

    assert '<html lang="en-CA">' in _text(response)


def test_switch_does_not_redirect_to_another_site(client):
    response = client.post(
        reverse("set_language"), {"language": "fr", "next": "https://evil.example/"}
    )

    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


BAD_SIGNUPS = {
    "malformed e-mail": (
        {"email": "not-an-email", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
        "email",
        "Enter a valid email address.",
        "Saisissez une adresse de courriel valide.",
    ),
    "10 kB e-mail": (
        {
            "email": "a" * 10_000 + "@business.example",
            "password1": GOOD_PASSWORD,
            "password2": GOOD_PASSWORD,
        },
        "email",
        "Ensure this value has at most",
        "Assurez-vous que cette valeur comporte au plus",
    ),
    "mismatched passwords": (
        {"email": "new@business.example", "password1": GOOD_PASSWORD, "password2": "Other-2026!x"},
        "password2",
        "You must type the same password each time.",
        "Vous devez saisir deux fois le même mot de passe.",
    ),
    "too short password": (
        {"email": "new@business.example", "password1": "Ab1!", "password2": "Ab1!"},
        "password1",
        "This password is too short.",
        "Ce mot de passe est trop court.",
    ),
}


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("case", list(BAD_SIGNUPS))
def test_bad_signup_gets_a_clear_message_in_the_users_language_and_creates_nobody(
    client, mailoutbox, django_capture_on_commit_callbacks, case, language
):
    data, field, english, french = BAD_SIGNUPS[case]
    if language == "fr":
        _switch_to_french(client, next_url=reverse("account_signup"))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_signup"), data)

    assert response.status_code == 200
    message = french if language == "fr" else english
    assert field in response.context["form"].errors
    assert any(message in error for error in response.context["form"].errors[field])
    assert message in _text(response)
    assert 'aria-invalid="true"' in _text(response)
    assert not get_user_model().objects.exists()
    assert mailoutbox == []


def test_signup_with_an_address_already_taken_creates_no_second_profile(
    client, user, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_signup"),
            {"email": user.email, "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
        )

    # Enumeration is prevented: the answer looks like success, but nothing new is made.
    assert response.status_code == 302
    assert get_user_model().objects.filter(email__iexact=user.email).count() == 1
    assert len(mailoutbox) == 1
    assert user.email in mailoutbox[0].to


@pytest.mark.parametrize(
    "language, message", [("en", "Incorrect code."), ("fr", "Code incorrect.")]
)
def test_wrong_totp_code_at_sign_in_is_refused_with_a_message(
    client, mfa_user: MFAUser, language, message
):
    if language == "fr":
        _switch_to_french(client, next_url=reverse("account_login"))
    response = client.post(
        reverse("account_login"), {"login": mfa_user.user.email, "password": mfa_user.password}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")

    good = mfa_user.code()
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    response = client.post(reverse("mfa_authenticate"), {"code": wrong})

    assert response.status_code == 200
    assert message in _text(response)
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("home")).status_code == 302


def test_wrong_password_is_refused_in_french(client, user):
    _switch_to_french(client, next_url=reverse("account_login"))

    response = client.post(
        reverse("account_login"), {"login": user.email, "password": "not-the-password"}
    )

    assert response.status_code == 200
    assert "L\u2019adresse e-mail ou le mot de passe sont incorrects." in _text(response)
    assert "_auth_user_id" not in client.session


def test_signed_in_switch_is_remembered_on_the_profile(client, user):
    client.force_login(user)
    assert user.language == "en"

    _switch_to_french(client, next_url=reverse("home"))

    user.refresh_from_db()
    assert user.language == "fr"
    assert '<html lang="fr-CA">' in _text(client.get(reverse("home")))
