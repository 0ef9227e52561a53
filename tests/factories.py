"""Factories shared by every app's tests: the portal user with a verified e-mail address."""

from typing import Any

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from factory.django import DjangoModelFactory

DEFAULT_PASSWORD = "Correct-horse-battery-9"


class UserFactory(DjangoModelFactory):
    """A user who signs in with their e-mail; the address is verified and primary.

    `UserFactory(password="...")` sets that password; by default it is DEFAULT_PASSWORD.
    """

    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@business.example")
    username = factory.LazyAttribute(lambda user: user.email)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(DEFAULT_PASSWORD)

    @factory.post_generation
    def verified_email(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if not create:
            return
        EmailAddress.objects.update_or_create(
            user=self, email=self.email, defaults={"verified": True, "primary": True}
        )
