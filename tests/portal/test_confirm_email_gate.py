"""Confirming an e-mail address is closed by a profile-changes interruption too, not only by
registration's."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from tests.outages.factories import closing

pytestmark = pytest.mark.django_db
CONFIRM_LINK = re.compile(r"http://testserver(/accounts/confirm-email/[^/\s]+/)")
NEW_ADDRESS = "second@business.example"


@pytest.fixture
def confirmation_path(client, user, mailoutbox, django_capture_on_commit_callbacks) -> str:
    """A signed-in user added a second address before any interruption: its link, unused."""
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_email"), {"email": NEW_ADDRESS, "action_add": ""})
    assert response.status_code == 302
    [message] = [m for m in mailoutbox if m.to == [NEW_ADDRESS]]
    found = CONFIRM_LINK.search(message.body)
    assert found, message.body
    return found.group(1)


@pytest.mark.parametrize("feature", ["profile_changes", "registration"])
def test_confirming_an_address_is_closed_during_the_interruption(
    client, confirmation_path, django_capture_on_commit_callbacks, feature
):
    with django_capture_on_commit_callbacks(execute=True):  # staff save: the gate hears of it
        closing(feature)

    page = client.get(confirmation_path)
    confirmed = client.post(confirmation_path)

    assert page.status_code == 503
    assert confirmed.status_code == 503
    assert "Retry-After" in confirmed
    assert not EmailAddress.objects.get(email=NEW_ADDRESS).verified


def test_confirming_an_address_works_without_an_interruption(client, confirmation_path):
    response = client.post(confirmation_path)

    assert response.status_code == 302
    assert EmailAddress.objects.get(email=NEW_ADDRESS).verified
