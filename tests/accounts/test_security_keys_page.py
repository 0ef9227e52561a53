"""allauth's list of security keys, as the portal overrides it: every phrase in the reader's
language (allauth leaves "Not used." untranslated and says "Ajoutée à" a date)."""

import datetime
import html
import re

import pytest
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WORDS = {
    "en": {
        "added": r"Added on [A-Z][a-z]+\.? \d{1,2}, \d{4}\.",
        "unused": "Not used yet.",
        "used": "Last used 2 hours ago",
        "kind": "Unspecified",
    },
    "fr": {
        "added": r"Ajoutée le \d{1,2} [a-zéû]+ \d{4}\.",
        "unused": "Pas encore utilisée.",
        "used": "Dernière utilisation il y a 2 heures",
        "kind": "Non précisée",
    },
}


def page_text(client, language: str) -> str:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(reverse("mfa_list_webauthn"))
    assert response.status_code == 200
    # Words joined by single spaces, no-break spaces included.
    return " ".join(html.unescape(strip_tags(response.content.decode())).split())


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_key_says_when_it_was_added_and_that_it_was_never_used(client, language):
    user = UserFactory()
    Authenticator.objects.create(
        user=user, type=Authenticator.Type.WEBAUTHN, data={"name": "Desk key", "credential": {}}
    )
    client.force_login(user)

    text = page_text(client, language)

    assert re.search(WORDS[language]["added"], text), text
    assert WORDS[language]["unused"] in text
    assert WORDS[language]["kind"] in text
    assert "Not used." not in text


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_used_key_says_when(client, language):
    user = UserFactory()
    Authenticator.objects.create(
        user=user,
        type=Authenticator.Type.WEBAUTHN,
        data={"name": "Desk key", "credential": {}},
        last_used_at=timezone.now() - datetime.timedelta(hours=2),
    )
    client.force_login(user)

    assert WORDS[language]["used"] in page_text(client, language)
