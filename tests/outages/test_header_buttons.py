"""The header's sign-in and sign-up buttons are disabled, with the reason, while interrupted."""

import pytest
from django.urls import reverse

from tests.outages.factories import closing

pytestmark = pytest.mark.django_db


def test_header_offers_sign_up_and_sign_in_when_open(client):
    page = client.get(reverse("outages:status")).content.decode()
    assert f'href="{reverse("account_signup")}"' in page
    assert f'href="{reverse("account_login")}"' in page


def test_header_disables_sign_up_with_its_reason_during_a_registration_interruption(client):
    closing("registration")
    page = client.get(reverse("outages:status")).content.decode()
    assert f'href="{reverse("account_signup")}"' not in page
    assert 'aria-disabled="true"' in page
    assert "Unavailable for maintenance until" in page
    assert f'href="{reverse("account_login")}"' in page
