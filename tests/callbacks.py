"""On-commit callbacks a test counts, without the one that renews cached page fragments
(portal.fragments): every transaction that writes an account's rows registers it."""

from collections.abc import Callable

from portal import fragments


def other_than_fragments(callbacks: list[Callable[[], object]]) -> list[Callable[[], object]]:
    return [callback for callback in callbacks if callback is not fragments.renew_pending]
