"""The one place that answers "may this user do this, here?" for every app.

Views, selectors, services, templates and the admin ask these functions; nothing else reads a
link's right. Rights are granted per account today; per-contract grants (the delegated-users
issue) extend `accounts_for` and `can` without changing their signatures.
"""

from typing import Any

from django.db import models
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

# accounts.models needs Right for its fields, so the models are read through the module at call
# time rather than imported by name here (that would be a circular import).
import accounts.models as account_models


class Right(models.IntegerChoices):
    """Each right includes the ones below it, so "at least" is a plain `>=`."""

    CONSULT = 10, _("Consult")
    MANAGE = 20, _("Manage")
    VALIDATE = 30, _("Validate")


def accounts_for(
    user: Any, level: Right = Right.CONSULT
) -> "QuerySet[account_models.BusinessAccount]":
    """The accounts `user` may act on with at least `level`, through an active link.

    One query however many links the user has; lists start from here so the scope is never
    forgotten.
    """
    accounts = account_models.BusinessAccount.objects
    if not getattr(user, "is_authenticated", False):
        return accounts.none()
    # One filter() call: the same link row must be the user's, active and high enough.
    return accounts.filter(
        links__user=user,
        links__status=account_models.AccountLink.Status.ACTIVE,
        links__right__gte=level,
    )


def can(user: Any, level: Right, account: "account_models.BusinessAccount") -> bool:
    return accounts_for(user, level).filter(pk=account.pk).exists()


def get_account_or_404(
    user: Any, level: Right, account_id: int
) -> "account_models.BusinessAccount":
    # A missing account and another business's account get the same answer.
    return get_object_or_404(accounts_for(user, level), pk=account_id)
