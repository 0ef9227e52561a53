"""Demo data from every app: `seed_demo` (accounts) runs each registered seeder after its own.

An app registers its seeder from its `AppConfig.ready()`, so no lower layer imports it:

    register_demo_seeder("billing", billing.demo.seed, order=20)

A seeder takes no argument, is idempotent, runs inside seed_demo's transaction after the demo
accounts and users exist, and returns the lines to print for a newcomer.
"""

from collections.abc import Callable

Seeder = Callable[[], list[str]]

_SEEDERS: dict[str, tuple[int, Seeder]] = {}


def register_demo_seeder(name: str, fn: Seeder, order: int = 100) -> Seeder:
    """Add (or replace) the seeder called `name`; lower `order` runs first."""
    _SEEDERS[name] = (order, fn)
    return fn


def demo_seeders() -> list[tuple[str, Seeder]]:
    """The registered seeders, by order then name."""
    return [
        (name, fn) for name, (_order, fn) in sorted(_SEEDERS.items(), key=lambda i: (i[1][0], i[0]))
    ]
