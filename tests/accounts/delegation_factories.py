"""Factories and helpers of the delegated-users tests: pre-registered people, administrators."""

import datetime
import re
from typing import Any

import factory
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from accounts.models import AccountLink, BusinessAccount, PreRegistration
from accounts.rights import Right
from tests.accounts.factories import BusinessAccountFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.conftest import MFAUser
from tests.factories import DEFAULT_PASSWORD, ModelFactory, UserFactory


class PreRegistrationFactory(ModelFactory[PreRegistration]):
    class Meta:
        model = PreRegistration

    account = factory.SubFactory(BusinessAccountFactory)
    last_name = factory.Faker("last_name")
    first_name = factory.Faker("first_name")
    date_of_birth = datetime.date(1988, 3, 14)
    mobile_phone = factory.Sequence(lambda n: f"+1613555{n % 10000:04d}")
    email = factory.Sequence(lambda n: f"new{n}@business.example")


def administrator(
    account: BusinessAccount, *, level: Right = Right.VALIDATE, **user: Any
) -> AccountLink:
    """An administrator link of `account` holding `level` on all of it."""
    return AccountLinkFactory.create(
        account=account, right=level, is_administrator=True, user=UserFactory.create(**user)
    )


def with_totp(user: Any) -> MFAUser:
    """Turn on an authenticator app for `user`; the returned object gives its current codes."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return MFAUser(user=user, secret=secret, password=DEFAULT_PASSWORD, recovery_codes=[])


def texted_password(body: str) -> str:
    """The temporary password in the text a new user received: the word after "Portal:"."""
    found = re.search(r"^[^:]+:\s(\S+)\s", body)
    assert found, body
    return found.group(1)
