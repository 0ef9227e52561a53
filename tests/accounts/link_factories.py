"""Factories for account links and their notices (beside the foundation's factories.py).

As there, call `XFactory.create(...)`: mypy then sees a model instance.
"""

from typing import Any, cast

import factory
from django.utils import timezone

from accounts.models import AccountLink, Grant, LinkNotice
from accounts.rights import Right
from tests.accounts.factories import BusinessAccountFactory
from tests.factories import ModelFactory, UserFactory


class AccountLinkFactory(ModelFactory[AccountLink]):
    """A link with a whole-account grant of `right` (CONSULT unless told; `right=0`: none)."""

    class Meta:
        model = AccountLink
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    account = factory.SubFactory(BusinessAccountFactory)
    created_by = factory.SelfAttribute("user")

    @factory.post_generation
    def right(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        level = Right.CONSULT if extracted is None else extracted
        if create and level:
            # factory_boy passes the AccountLink made, not the factory, as `self`.
            Grant.objects.create(link=cast(AccountLink, self), contract=None, level=level)


class LinkNoticeFactory(ModelFactory[LinkNotice]):
    """A notice already e-mailed (its removal link usable) unless `sent_at=None`. It has no outbox
    delivery: tests that send one queue it (accounts.notifications.queue_link_notice)."""

    class Meta:
        model = LinkNotice

    link = factory.SubFactory(AccountLinkFactory)
    email = factory.Sequence(lambda n: f"owner{n}@business.example")
    name = factory.Faker("name")
    language = "en"
    sent_at = factory.LazyFunction(timezone.now)
