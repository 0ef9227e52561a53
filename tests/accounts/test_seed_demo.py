"""seed_demo tells a newcomer where to link an account, and running it again changes nothing."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import AccountLink, BusinessAccount, Contact

pytestmark = pytest.mark.django_db


def test_seed_demo_says_where_to_link_and_is_idempotent():
    first, second = StringIO(), StringIO()

    call_command("seed_demo", stdout=first)
    counts = (BusinessAccount.objects.count(), Contact.objects.count())
    call_command("seed_demo", stdout=second)

    assert f"{reverse('accounts:link')}" in first.getvalue()
    assert "Link one as the demo user at" in second.getvalue()
    assert (BusinessAccount.objects.count(), Contact.objects.count()) == counts
    assert not AccountLink.objects.exists()
