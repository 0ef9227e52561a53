"""The pages the benchmark visits, each with data of a given size. Add a page here when it ships.

"size" is the number of maintenance windows, of accounts the signed-in user acts for, and of
users of the account whose Users page is shown.
"""

import datetime
from collections.abc import Callable

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountLink, BusinessAccount, Grant, User
from accounts.rights import Right
from outages.models import Interruption, MaintenanceWindow

Scenario = tuple[str, Client, Callable[[], str]]


def _windows(count: int) -> None:
    MaintenanceWindow.objects.all().delete()
    start = timezone.now() + datetime.timedelta(days=1)
    for index in range(count):
        window = MaintenanceWindow.objects.create(
            title_en=f"Upgrade {index}",
            title_fr=f"Mise à niveau {index}",
            starts_at=start + datetime.timedelta(days=index),
            ends_at=start + datetime.timedelta(days=index, hours=6),
        )
        Interruption.objects.create(
            window=window,
            application_en="Billing",
            application_fr="Facturation",
            description_en="Payments unavailable",
            description_fr="Paiements indisponibles",
            starts_at=window.starts_at,
            ends_at=window.ends_at,
            features=["online_payment"],
        )


def _user(email: str) -> User:
    user, _ = User.objects.get_or_create(username=email, email=email)
    return user


def _link(user: User, account: BusinessAccount, *, administrator: bool = False) -> None:
    link = AccountLink.objects.create(
        user=user, account=account, created_by=user, is_administrator=administrator
    )
    Grant.objects.create(link=link, contract=None, level=Right.VALIDATE)


def _accounts(owner: User, size: int) -> BusinessAccount:
    """`size` accounts for the owner; the first has `size` users. Returns that first one."""
    AccountLink.objects.all().delete()
    BusinessAccount.objects.all().delete()
    accounts = [
        BusinessAccount.objects.create(
            customer_number=f"{9_000_000_000 + index}",
            kind=BusinessAccount.Kind.COMMERCIAL,
            legal_name=f"Bench Business {index}",
            street_address="1 Main Street",
            city="Ottawa",
            province="ON",
            postal_code="K1A 0B1",
        )
        for index in range(size)
    ]
    for account in accounts:
        _link(owner, account, administrator=True)
    for index in range(size - 1):
        _link(_user(f"colleague{index}@bench.example"), accounts[0])
    return accounts[0]


def build(size: int) -> list[Scenario]:
    _windows(size)
    owner = _user("bench@portal.example")
    first = _accounts(owner, size)
    anonymous, signed_in = Client(), Client()
    signed_in.force_login(owner)
    return [
        ("sign-in page (anonymous)", anonymous, lambda: reverse("account_login")),
        ("home: my business accounts", signed_in, lambda: reverse("home")),
        ("account page", signed_in, lambda: reverse("accounts:detail", args=[first.pk])),
        (
            "account users (paginated)",
            signed_in,
            lambda: reverse("accounts:users", args=[first.pk]),
        ),
        ("link form", signed_in, lambda: reverse("accounts:link")),
        ("status page", anonymous, lambda: reverse("outages:status")),
        ("status JSON feed", anonymous, lambda: reverse("outages:json")),
    ]
