"""Fixtures of the maintenance tests."""

import pytest
from django.conf import settings
from django.test import Client


@pytest.fixture
def french(client: Client) -> Client:
    """The client asking for French pages, as the language switch leaves it."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    return client
