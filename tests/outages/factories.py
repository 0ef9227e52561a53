"""Maintenance windows built relative to the clock: tests control time through `at=` and dates."""

import datetime

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from outages.models import Interruption, MaintenanceWindow

HOUR = datetime.timedelta(hours=1)


class MaintenanceWindowFactory(DjangoModelFactory[MaintenanceWindow]):
    class Meta:
        model = MaintenanceWindow

    title_en = factory.Sequence(lambda n: f"System upgrade {n}")
    title_fr = factory.Sequence(lambda n: f"Mise à niveau {n}")
    summary_en = "Some services will not be available."
    summary_fr = "Certains services ne seront pas accessibles."
    starts_at = factory.LazyFunction(lambda: timezone.now() + 24 * HOUR)
    ends_at = factory.LazyAttribute(lambda window: window.starts_at + 4 * HOUR)


class InterruptionFactory(DjangoModelFactory[Interruption]):
    """Lasts as long as its window unless told otherwise."""

    class Meta:
        model = Interruption

    window = factory.SubFactory(MaintenanceWindowFactory)
    application_en = "Registration"
    application_fr = "Inscription"
    description_en = "New profiles cannot be created."
    description_fr = "Il n'est pas possible de créer de nouveaux profils."
    starts_at = factory.LazyAttribute(lambda i: i.window.starts_at)
    ends_at = factory.LazyAttribute(lambda i: i.window.ends_at)
    features = factory.LazyFunction(lambda: ["registration"])
    scope = Interruption.Scope.ALL


def closing(
    *features: str,
    starts_at: datetime.datetime | None = None,
    ends_at: datetime.datetime | None = None,
    scope: str = Interruption.Scope.ALL,
    **window_fields: object,
) -> Interruption:
    """One window with one interruption closing `features`; by default under way for an hour."""
    now = timezone.now()
    starts_at = starts_at or now - HOUR
    ends_at = ends_at or now + HOUR
    window = MaintenanceWindowFactory.create(starts_at=starts_at, ends_at=ends_at, **window_fields)
    return InterruptionFactory.create(window=window, features=list(features), scope=scope)
