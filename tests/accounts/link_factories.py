"""Factories for account links and their notices (beside the foundation's factories.py).

As there, call `XFactory.create(...)`: mypy then sees a model instance.
"""

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.models import AccountLink, LinkNotice
from accounts.rights import Right
from tests.accounts.factories import BusinessAccountFactory
from tests.factories import UserFactory


class AccountLinkFactory(DjangoModelFactory[AccountLink]):
    class Meta:
        model = AccountLink

    user = factory.SubFactory(UserFactory)
    account = factory.SubFactory(BusinessAccountFactory)
    right = Right.CONSULT
    created_by = factory.SelfAttribute("user")


class LinkNoticeFactory(DjangoModelFactory[LinkNotice]):
    """A notice already e-mailed (its removal link usable) unless told otherwise."""

    class Meta:
        model = LinkNotice

    link = factory.SubFactory(AccountLinkFactory)
    email = factory.Sequence(lambda n: f"owner{n}@business.example")
    name = factory.Faker("name")
    language = "en"
    status = LinkNotice.Status.SENT
    sent_at = factory.LazyFunction(timezone.now)
