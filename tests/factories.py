"""Factories shared by every app's tests: a typed base, and the user with a verified address."""

from typing import TYPE_CHECKING, Any, TypeVar

import factory
from allauth.account.models import EmailAddress
from factory.django import DjangoModelFactory

from accounts.models import User

DEFAULT_PASSWORD = "Correct-horse-battery-9"

ModelT = TypeVar("ModelT")


class ModelFactory(DjangoModelFactory[ModelT]):
    """Base of every factory: `XFactory(...)` is typed as the model it makes.

    factory_boy returns a model instance from `XFactory(...)`, but type checkers read a class
    call as making an instance of the factory; the `__new__` below tells them the truth.
    `class AccountFactory(ModelFactory[Account])` is all a subclass needs.
    """

    class Meta:
        abstract = True

    if TYPE_CHECKING:

        def __new__(cls, *args: Any, **kwargs: Any) -> ModelT: ...  # type: ignore[misc]


class UserFactory(ModelFactory[User]):
    """A user who signs in with their e-mail; the address is verified and primary.

    `UserFactory(password="...")` sets that password; by default it is DEFAULT_PASSWORD.
    """

    class Meta:
        model = User
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
