#!/usr/bin/env python
"""Page benchmark: queries and server time per page, at a small and a large data size.

Runs against a throwaway SQLite file (or $BENCH_DATABASE_URL, e.g. a PostgreSQL database that
may be emptied) through Django's test client, so it measures the portal's own work: queries,
Python and template rendering, not the network. Prints one table; figures, not pass/fail.

    make bench            # or: .venv/bin/python scripts/bench.py --requests 50
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
_db_file = Path(tempfile.mkdtemp()) / "bench.sqlite3"
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{_db_file}")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings_test")
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]

from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from scripts import bench_scenarios  # noqa: E402


def measure(client: Client, url: str, requests: int) -> tuple[int, int, float, float]:
    client.get(url)  # warm caches (the gate's snapshot, templates)
    with CaptureQueriesContext(connection) as queries:
        status = client.get(url).status_code
    query_count = len(queries)  # read now: the captured list is a view of a log reset below
    timings = []
    for _ in range(requests):
        reset_queries()
        start = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
    return status, query_count, statistics.median(timings), max(timings)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}; {args.requests} requests per page after one warm-up\n")
    print(f"{'page':<38}{'size':>6}{'status':>8}{'queries':>9}{'median ms':>11}{'max ms':>9}")
    for size in (1, 200):
        scenarios: list[tuple[str, Client, Callable[[], str]]] = bench_scenarios.build(size)
        for label, client, url in scenarios:
            status, queries, median, worst = measure(client, url(), args.requests)
            print(f"{label:<38}{size:>6}{status:>8}{queries:>9}{median:>11.1f}{worst:>9.1f}")


if __name__ == "__main__":
    main()
