"""seed_demo tells a newcomer where to link an account and how to try delegated users, and
running it again changes nothing."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts import rights
from accounts.models import AccountLink, BusinessAccount, Contact, PreRegistration, User
from accounts.rights import Right

pytestmark = pytest.mark.django_db


def test_seed_demo_says_where_to_link_and_is_idempotent():
    first, second = StringIO(), StringIO()

    call_command("seed_demo", stdout=first)
    counts = [
        model.objects.count() for model in (BusinessAccount, Contact, AccountLink, PreRegistration)
    ]
    call_command("seed_demo", stdout=second)

    assert f"{reverse('accounts:link')}" in first.getvalue()
    assert "Link one as the demo user at" in second.getvalue()
    assert "Add a user" in second.getvalue() and "Sophie Martin" in second.getvalue()
    assert [
        model.objects.count() for model in (BusinessAccount, Contact, AccountLink, PreRegistration)
    ] == counts
    maple = BusinessAccount.objects.get(customer_number="0001234567")
    demo = User.objects.get(email="demo@portal.example")
    preparer = User.objects.get(email="preparer@portal.example")
    assert rights.is_administrator(demo, maple) and rights.can(demo, Right.VALIDATE, maple)
    assert rights.is_administrator(preparer, maple)
    assert not rights.can(preparer, Right.VALIDATE, maple)
