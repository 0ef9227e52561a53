"""A default right that is not one of those offered (a tampered or stale page) is refused aloud:
the users page says so, and the account keeps its default right (found by tests/security's fuzz
tests: the refusal used to be silent)."""

import pytest
from django.contrib.messages import ERROR, get_messages
from django.urls import reverse

from accounts.models import BusinessAccount
from accounts.rights import Right
from tests.accounts.delegation_factories import administrator
from tests.accounts.factories import BusinessAccountFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("posted", ["30", "¹⁰", "' OR 1=1 --", ""])
def test_a_level_not_offered_is_refused_with_a_message(client, monkeypatch, posted):
    # A second factor entered a moment ago (tests/billing/conftest.py's reauth_bypass).
    monkeypatch.setattr("portal.second_factor.is_mfa_enabled", lambda user: True)
    monkeypatch.setattr("portal.second_factor.confirmed_recently", lambda request: True)
    account = BusinessAccountFactory.create()
    client.force_login(administrator(account).user)

    response = client.post(reverse("accounts:default_right", args=[account.pk]), {"level": posted})

    assert response.status_code == 302
    said = [(m.level, str(m)) for m in get_messages(response.wsgi_request)]
    assert said == [(ERROR, "Choose one of the rights offered; nothing was changed.")]
    assert BusinessAccount.objects.get(pk=account.pk).default_right == Right.CONSULT
