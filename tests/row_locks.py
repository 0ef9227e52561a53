"""Which rows a query would lock on PostgreSQL, seen from the SQLite test database.

SQLite has no row locks, so Django leaves `FOR UPDATE` out of the SQL it writes there and a test
cannot tell whether a service locks the notice it sends, or the rows a beat job claims.
`row_locks()` lets Django write the clause as it does for PostgreSQL (checking the `of=` names the
same way), records it, and takes it off again before SQLite runs the query.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from django.db import connection

_FOR_UPDATE = re.compile(r"\s+FOR (?:NO KEY )?UPDATE\b.*$", re.DOTALL)


@contextmanager
def row_locks() -> Iterator[list[str]]:
    """The `FOR UPDATE ...` clause of each locking query run inside, in order.

    Use it inside the test's transaction (as pytest-django's `db` gives): Django refuses to lock
    outside one, as it would on PostgreSQL.
    """
    clauses: list[str] = []

    def strip_lock(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        found = _FOR_UPDATE.search(sql)
        if found:
            clauses.append(found.group(0).strip())
            sql = sql[: found.start()]
        return execute(sql, params, many, context)

    postgres_like: dict[str, Any] = {
        "has_select_for_update": True,
        "has_select_for_update_of": True,
        "has_select_for_update_skip_locked": True,
        "has_select_for_update_nowait": True,
    }
    with (
        mock.patch.multiple(connection.features, **postgres_like),
        connection.execute_wrapper(strip_lock),
    ):
        yield clauses
