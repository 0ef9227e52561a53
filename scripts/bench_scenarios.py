"""The pages the benchmark visits, each with data of a given size. Add a page here when it ships."""

import datetime
from collections.abc import Callable

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
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


def _signed_in_client() -> Client:
    user, _ = User.objects.get_or_create(
        username="bench@portal.example", email="bench@portal.example"
    )
    client = Client()
    client.force_login(user)
    return client


def build(size: int) -> list[Scenario]:
    _windows(size)
    anonymous, signed_in = Client(), _signed_in_client()
    return [
        ("sign-in page (anonymous)", anonymous, lambda: reverse("account_login")),
        ("home: my business accounts", signed_in, lambda: reverse("home")),
        ("status page (windows = size)", anonymous, lambda: reverse("outages:status")),
    ]
