"""Reports read from a replica of the database, when one is configured.

Setting DATABASE_REPLICA_URL adds the "replica" alias and turns PORTAL_REPORTS_FROM_REPLICA on;
`ReplicaRouter` (in DATABASE_ROUTERS always) then sends the reads made inside
`reading_from_replica()` to it, and every other read and
every write to "default". Only the code that asks for it reads a replica: a page that reads
after writing, or a service that locks rows, never sees a lagging copy by accident. Without a
replica the block changes nothing.
"""

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from django.conf import settings

REPLICA = "replica"

_on_replica: ContextVar[bool] = ContextVar("portal_read_from_replica", default=False)


@contextlib.contextmanager
def reading_from_replica() -> Iterator[None]:
    """Reads inside go to the replica (when configured): for reports and exports only."""
    token = _on_replica.set(True)
    try:
        yield
    finally:
        _on_replica.reset(token)


def replica_configured() -> bool:
    return settings.PORTAL_REPORTS_FROM_REPLICA and REPLICA in settings.DATABASES


class ReplicaRouter:
    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        return REPLICA if _on_replica.get() and replica_configured() else None

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return None  # the primary, always

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True  # the same data on both: rows read from either may be related

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return db != REPLICA  # a replica follows the primary; it is never migrated
