"""Fixtures of the fuzz tests (test_fuzz_*.py): one world per module, the in-memory gateway."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction

from tests.billing import fakes
from tests.security.world import World, build


class FuzzWorld:
    """The world, named briefly where hypothesis prints a failing example's arguments."""

    def __init__(self, world: World) -> None:
        self._world = world

    def __getattr__(self, name: str) -> Any:
        return getattr(self._world, name)

    def __repr__(self) -> str:
        return "World(A, B, callers)"


@pytest.fixture(scope="module")
def fuzz_world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    """The access matrix's two businesses and callers, built once per module in a transaction
    rolled back at its end (each example runs in a savepoint of it, rolled back too)."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield FuzzWorld(build())  # type: ignore[misc]
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _fuzz_services(settings: Any) -> None:
    """The callers' second factor stays fresh for the run; cards go to the in-memory gateway."""
    settings.PORTAL_SECOND_FACTOR_MAX_AGE = 24 * 3600
    settings.BILLING_GATEWAY = fakes.GATEWAY
    fakes.FakeGateway.reset()
