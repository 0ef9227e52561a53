#!/usr/bin/env python
"""The benchmark at production scale: `make bench` (see the README for what it needs and takes).

1. Builds the data (scripts/bench_data.py) in its own PostgreSQL database, timed.
2. Serves the portal as in production (scripts/production.py: gunicorn, Redis, a worker).
3. Loads each key page with wrk (16 connections), alternating with a yardstick: the floor page
   for signed-in pages, the bare "ok" view for anonymous ones, so drift cancels out.
4. Counts the queries of each page at small and at full scale (a second, small database).
5. Times in process: reports, exports and PDFs; the gate's cost; tracking ingestion through the
   endpoint and through `import_tracking`; the e-mail fan-out through the real worker.
Writes docs/benchmarks.md and docs/benchmarks.json. Figures, never pass/fail.

    .venv/bin/python scripts/bench.py                 # full scale (first build ~10 minutes)
    .venv/bin/python scripts/bench.py --scale 0.02    # a quick look
    .venv/bin/python scripts/bench.py --reuse         # keep the data already built at that scale
"""

import argparse
import csv
import datetime
import hashlib
import hmac
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.production import (
    POSTGRES,
    PROXY_HEADERS,
    ROOT,
    deployed,
    gunicorn_workers,
    production_environment,
    set_up_driver,
)

PG = POSTGRES
BENCH_REDIS = "redis://127.0.0.1:6379/9"  # its own: the test suites use 10 to 15
DOCS = ROOT / "docs"
# The worker as the README's Production section runs it: its tasks wait on PostgreSQL and the
# mail provider, so twice the cores keeps them busy.
WORKER_CONCURRENCY = 4


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    signed_in: bool = True


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--database", default="portal_bench")
    parser.add_argument("--reuse", action="store_true", help="keep the data already built")
    parser.add_argument("--seconds", type=int, default=5, help="per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=4, help="page/yardstick pairs per page")
    parser.add_argument("--fanout", type=int, default=10_000)
    parser.add_argument("--queries-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-small", action="store_true", help="skip the small-scale counts")
    return parser.parse_args()


def main() -> None:
    args = parse_arguments()
    environment = production_environment(
        database_url=f"{PG}/{args.database}",
        redis_url=BENCH_REDIS,
        DJANGO_EMAIL_BACKEND="scripts.bench_tasks.CountingBackend",
        RETURNS_LINK_RATE_PER_IP="100000000",  # counted, never tripped by the load itself
        RETURNS_LINK_VIEWS_PER_IP="100000000",
        RETURNS_TRACKING_MAX_SKEW="3600",
    )
    set_up_driver(environment, args.database)
    if args.queries_only:  # the small-scale counts, in a process of their own
        if not _built_at(args.scale):
            _build(args.scale)
        print(json.dumps(count_queries(pages())))
        return
    figures: dict[str, Any] = {"machine": machine(), "scale": args.scale, "rounds": args.rounds}
    if not (args.reuse and _built_at(args.scale)):
        print(f"building the data at scale {args.scale}", flush=True)
        figures["build_seconds"] = _build(args.scale)
    figures["rows"] = row_counts()
    _flush_redis()
    page_list = pages()
    figures["queries"] = {"full": count_queries(page_list)}
    if not args.no_small:
        figures["queries"]["small"] = small_scale_queries(args)
    with deployed(environment, logs=ROOT / "var" / "bench") as deployment:
        deployment.localstripe()
        deployment.web()
        figures["load"] = load(deployment.base_url, page_list, args)
        deployment.worker(concurrency=WORKER_CONCURRENCY)
        figures["ingestion"] = ingestion(deployment.base_url, environment)
        figures["fanout"] = fanout(args.fanout)
    figures["in_process"] = in_process_timings()
    figures["gate"] = gate_cost()
    write_report(figures)


# --- setting up ----------------------------------------------------------------------------------


def _built_at(scale: float) -> bool:
    from accounts.models import BusinessAccount
    from scripts.bench_data import Size

    return BusinessAccount.objects.count() == Size.at(scale).accounts


def _build(scale: float) -> dict[str, float]:
    from scripts import bench_data

    return bench_data.build(scale)


def _flush_redis() -> None:
    import redis

    redis.Redis.from_url(BENCH_REDIS).flushdb()


def machine() -> dict[str, Any]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "date": datetime.date.today().isoformat(),
        "python": platform.python_version(),
        "postgresql": _postgres_version(),
        "gunicorn_workers": gunicorn_workers(),
    }


def _postgres_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return str(cursor.fetchone()[0])


def row_counts() -> dict[str, int]:
    from django.db import connection

    tables = [
        "accounts_businessaccount", "accounts_user", "accounts_accountlink", "accounts_grant",
        "returns_returnpolicy", "returns_returnlabel", "returns_trackingevent", "billing_invoice",
        "billing_charge", "accounts_auditevent", "outages_maintenancewindow",
    ]  # fmt: skip
    with connection.cursor() as cursor:
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT reltuples::bigint FROM pg_class WHERE relname = '{table}'")
            counts[table] = int(cursor.fetchone()[0])
    return counts


# --- the pages -----------------------------------------------------------------------------------


def pages() -> list[Page]:
    from django.urls import reverse

    from billing.models import Invoice
    from returns.models import ReturnPolicy
    from scripts.bench_data import LARGE_ACCOUNT_ID as large

    statement = _benchmark_users_statement()
    invoice = Invoice.objects.filter(account_id=large).order_by("-period_start").first()
    policy = ReturnPolicy.objects.order_by("pk").first()
    assert statement and invoice and policy, "the benchmark's data is missing"
    return [
        Page("home", reverse("home")),
        Page("account", reverse("accounts:detail", args=[large])),
        Page("users and rights", reverse("accounts:users", args=[large])),
        Page("to validate", reverse("accounts:to_validate", args=[large])),
        Page("audit trail", reverse("accounts:audit", args=[large])),
        Page("returns policies", reverse("returns:policies", args=[large])),
        Page("forecast", reverse("returns:forecast", args=[large])),
        Page("report, 12 months by day", reverse("returns:report", args=[large]) + "?grain=day"),
        Page("billing", reverse("billing:overview", args=[large])),
        Page("invoices", reverse("billing:invoices", args=[large])),
        Page("invoice", reverse("billing:invoice", args=[large, invoice.pk])),
        Page("statement", reverse("billing:statement", args=[statement.account_id, statement.pk])),
        Page("status page", reverse("outages:status"), signed_in=False),
        Page("maintenance archive", reverse("outages:archive"), signed_in=False),
        Page("iCal feed", reverse("outages:ical"), signed_in=False),
        Page("Atom feed", reverse("outages:atom"), signed_in=False),
        Page("JSON feed", reverse("outages:json"), signed_in=False),
        Page("direct return page", reverse("returns:direct_link", args=[policy.link_token]), False),
        Page("sign-in page", reverse("account_login"), signed_in=False),
    ]


def _benchmark_users_statement() -> Any:
    """The latest statement of a small business the benchmark's user acts for."""
    from billing.models import Statement

    mine = Statement.objects.filter(account__links__user__email__startswith="bench@")
    return mine.order_by("-period_start", "pk").first()


def _clients() -> tuple[Any, Any]:
    from django.test import Client

    from accounts.models import User
    from scripts.bench_data import BENCH_EMAIL

    anonymous = Client(SERVER_NAME="127.0.0.1")
    signed_in = Client(SERVER_NAME="127.0.0.1")
    signed_in.force_login(User.objects.get(email=BENCH_EMAIL))
    return anonymous, signed_in


def count_queries(page_list: list[Page]) -> dict[str, dict[str, int]]:
    """Queries and HTML size of each page, on its second load (caches warm)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    anonymous, signed_in = _clients()
    counted = {}
    for page in page_list:
        client = signed_in if page.signed_in else anonymous
        client.get(page.path, secure=True)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(page.path, secure=True)
        counted[page.name] = {
            "status": response.status_code,
            "queries": len(queries),
            "bytes": len(response.content) if not response.streaming else 0,
        }
    return counted


def small_scale_queries(args: argparse.Namespace) -> dict[str, dict[str, int]]:
    """The same pages on the same data at 1/100 scale, from a second database."""
    database = f"{args.database}_small"
    command = [sys.executable, __file__, "--queries-only", "--scale", "0.01"]
    command += ["--database", database]
    environment = {**os.environ, "DATABASE_URL": f"{PG}/{database}"}
    output = subprocess.run(command, cwd=ROOT, env=environment, check=True, capture_output=True)
    return json.loads(output.stdout.decode().strip().splitlines()[-1])


# --- load ----------------------------------------------------------------------------------------


def load(base_url: str, page_list: list[Page], args: argparse.Namespace) -> dict[str, Any]:
    """wrk on each page and on its yardstick in turn; the ratio of their rates per round, and
    the median of those."""
    from django.conf import settings

    _, signed_in = _clients()
    cookie = (
        f"{settings.SESSION_COOKIE_NAME}={signed_in.cookies[settings.SESSION_COOKIE_NAME].value}"
    )
    yardsticks = {True: Page("floor page", "/bench/floor"), False: Page("ok", "/bench/ok", False)}
    results: dict[str, Any] = {}
    for page in page_list:
        yardstick = yardsticks[page.signed_in]
        runs = []
        for _ in range(args.rounds):
            base = wrk(base_url + yardstick.path, cookie, args)
            measured = wrk(base_url + page.path, cookie if page.signed_in else "", args)
            runs.append((base, measured))
        measured_runs = [measured for _, measured in runs]
        results[page.name] = {
            "yardstick": yardstick.name,
            "rps": statistics.mean(run["rps"] for run in measured_runs),
            "p50_ms": statistics.mean(run["p50_ms"] for run in measured_runs),
            "p99_ms": statistics.mean(run["p99_ms"] for run in measured_runs),
            "errors": sum(run["errors"] for run in measured_runs),
            # The median pair: one pair the machine disturbed moves it less than it moves a mean.
            "ratio": statistics.median(m["rps"] / max(b["rps"], 0.01) for b, m in runs),
            "yardstick_rps": statistics.mean(b["rps"] for b, _ in runs),
            "yardstick_p99_ms": statistics.mean(b["p99_ms"] for b, _ in runs),
        }
        print(f"  {page.name:<28}{results[page.name]['rps']:>8.0f} req/s  "
              f"ratio {results[page.name]['ratio']:.2f}", flush=True)  # fmt: skip
    return results


_LATENCY = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, cookie: str, args: argparse.Namespace) -> dict[str, Any]:
    command = ["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s", "--latency"]
    command += ["--timeout", "10s"]  # a slow page is measured, not dropped as a socket error
    for name, value in {**PROXY_HEADERS, "Cookie": cookie}.items():
        if value:
            command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    latency = {
        int(pct): float(value) * _UNIT_MS[unit] for pct, value, unit in _LATENCY.findall(output)
    }
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "p50_ms": latency.get(50, 0.0),
        "p99_ms": latency.get(99, 0.0),
        "errors": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


# --- in process ----------------------------------------------------------------------------------


def _median_ms(action: Callable[[], Any], runs: int = 5) -> float:
    action()  # warm
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 1)


def in_process_timings() -> dict[str, float]:
    from django.urls import reverse

    from billing.models import Invoice
    from returns.models import ReturnLabel
    from scripts.bench_data import LARGE_ACCOUNT_ID as large

    anonymous, signed_in = _clients()
    invoice = Invoice.objects.filter(account_id=large).order_by("-period_start").first()
    statement = _benchmark_users_statement()
    label = ReturnLabel.objects.select_related("policy").filter(account_id=large).first()
    assert invoice and statement and label

    def get(client: Any, path: str) -> Callable[[], None]:
        def fetch() -> None:
            response = client.get(path, secure=True)
            assert response.status_code == 200, (path, response.status_code)
            if response.streaming:
                b"".join(response.streaming_content)

        return fetch

    report = reverse("returns:report_download", args=[large, "csv"])
    targets = {
        "12-month daily report (page)": (
            signed_in,
            reverse("returns:report", args=[large]) + "?grain=day",
        ),
        "forecast (page)": (signed_in, reverse("returns:forecast", args=[large])),
        "report CSV, by day": (signed_in, report + "?grain=day"),
        "report XLSX, by day": (signed_in, report.replace(".csv", ".xlsx") + "?grain=day"),
        "invoice PDF": (signed_in, reverse("billing:invoice_pdf", args=[large, invoice.pk])),
        "statement PDF": (
            signed_in,
            reverse("billing:statement_pdf", args=[statement.account_id, statement.pk]),
        ),
        "label PDF": (
            anonymous,
            reverse("returns:label_pdf", args=[label.policy.link_token, label.tracking_number]),
        ),
    }  # fmt: skip
    timings = {name: _median_ms(get(client, path)) for name, (client, path) in targets.items()}
    timings["12-month daily report (service)"] = _report_service_ms(large)
    for name, value in timings.items():
        print(f"  {name:<34}{value:>9.1f} ms", flush=True)
    return timings


def _report_service_ms(account_id: int) -> float:
    from accounts.models import BusinessAccount
    from returns import reports

    account = BusinessAccount.objects.get(pk=account_id)
    today = datetime.date.today()
    return _median_ms(lambda: reports.returns_report(account, today, reports.Grain.DAY))


def gate_cost() -> dict[str, Any]:
    """Microseconds and queries per check, steady state, without and with an active window."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from outages import gate
    from outages.features import Feature
    from outages.models import Interruption, MaintenanceWindow

    def measure() -> dict[str, float]:
        gate.is_open(Feature.ONLINE_PAYMENT)  # the process copy, warm
        checks = 20_000
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            for _ in range(checks):
                gate.is_open(Feature.ONLINE_PAYMENT)
            elapsed = time.perf_counter() - started
        with gate.one_snapshot_per_request():
            started = time.perf_counter()
            for _ in range(checks):
                gate.is_open(Feature.ONLINE_PAYMENT)
            pinned = time.perf_counter() - started
        return {
            "us_per_check": round(elapsed / checks * 1e6, 2),
            "us_per_check_in_a_request": round(pinned / checks * 1e6, 2),
            "queries": len(queries),
        }

    figures = {"no active window": measure()}
    now = timezone.now()
    window = MaintenanceWindow.objects.create(
        title_en="Bench", title_fr="Banc", starts_at=now - datetime.timedelta(hours=1),
        ends_at=now + datetime.timedelta(hours=1),
    )  # fmt: skip
    Interruption.objects.create(
        window=window, application_en="Billing", application_fr="Facturation",
        starts_at=window.starts_at, ends_at=window.ends_at, features=["online_payment"],
    )  # fmt: skip
    gate.invalidate()
    try:
        figures["an active window"] = measure()
    finally:
        window.delete()
        gate.invalidate()
    print(f"  gate: {figures}", flush=True)
    return figures


# --- tracking ingestion --------------------------------------------------------------------------


def ingestion(base_url: str, environment: dict[str, str]) -> dict[str, Any]:
    from django.urls import reverse

    from returns.models import ReturnLabel, TrackingEvent

    numbers = list(
        ReturnLabel.objects.order_by("-pk").values_list("tracking_number", flat=True)[:20_000]
    )
    moment = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    batches = [
        [
            {"tracking_number": number, "kind": "IN_TRANSIT", "place": "BENCH",
             "occurred_at": (moment - datetime.timedelta(seconds=index)).isoformat()}
            for index, number in enumerate(numbers[start : start + 500], start)
        ]
        for start in range(0, 10_000, 500)
    ]  # fmt: skip
    url = base_url + reverse("returns:tracking_events")
    secret = environment["RETURNS_TRACKING_SECRET"]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(lambda batch: _post_events(url, secret, batch), batches))
    endpoint_seconds = time.perf_counter() - started
    sent = sum(len(batch) for batch in batches)
    while TrackingEvent.objects.filter(applied_at__isnull=True).exists():
        time.sleep(0.2)
    applied_seconds = time.perf_counter() - started
    import_rows, import_seconds = _import_csv(numbers[10_000:], moment, environment)
    figures = {
        "endpoint_events_per_s": round(sent / endpoint_seconds),
        "endpoint_statuses": sorted(set(statuses)),
        "applied_events_per_s": round(sent / applied_seconds),
        "import_rows_per_s": round(import_rows / import_seconds),
    }
    print(f"  ingestion: {figures}", flush=True)
    return figures


def _post_events(url: str, secret: str, events: list[dict[str, str]]) -> int:
    body = json.dumps({"events": events}).encode()
    timestamp = str(int(time.time()))
    signature = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    headers = {
        **PROXY_HEADERS,
        "Content-Type": "application/json",
        "X-Tracking-Timestamp": timestamp,
        "X-Tracking-Signature": signature.hexdigest(),
    }
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        return int(response.status)


def _import_csv(
    numbers: list[str], moment: datetime.datetime, environment: dict[str, str]
) -> tuple[int, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["tracking_number", "event", "occurred_at", "place"])
        for index, number in enumerate(numbers):
            occurred = moment - datetime.timedelta(hours=1, seconds=index)
            writer.writerow([number, "IN_TRANSIT", occurred.isoformat(), "BENCH"])
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "import_tracking", file.name],
        cwd=ROOT, env=environment, check=True, capture_output=True,
    )  # fmt: skip
    os.unlink(file.name)
    return len(numbers), time.perf_counter() - started


# --- e-mail fan-out ------------------------------------------------------------------------------


def fanout(count: int) -> dict[str, Any]:
    """`count` link notices through the outbox and the worker, against as many no-op tasks."""
    import redis
    from django.db import transaction

    from accounts.models import AccountLink, LinkNotice
    from accounts.notifications import LINK_NOTICE, queue_link_notice
    from portal.models import Delivery
    from scripts.bench_tasks import MAIL_BY_RECIPIENT, NOOP_COUNT, noop

    store = redis.Redis.from_url(BENCH_REDIS)
    store.delete(NOOP_COUNT, MAIL_BY_RECIPIENT)
    started = time.perf_counter()
    for _ in range(count):
        noop.delay()
    _wait(lambda: int(store.get(NOOP_COUNT) or 0) >= count)
    noop_seconds = time.perf_counter() - started

    LinkNotice.objects.filter(email__startswith="fanout").delete()
    links = list(AccountLink.objects.order_by("pk").values_list("pk", flat=True)[:count])
    notices = LinkNotice.objects.bulk_create(
        LinkNotice(link_id=links[i % len(links)], email=f"fanout{i}@bench.example", name=f"F {i}")
        for i in range(count)
    )
    notices = list(LinkNotice.objects.filter(email__startswith="fanout").select_related("link"))
    earlier = Delivery.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    started = time.perf_counter()
    with transaction.atomic():
        for notice in notices:
            queue_link_notice(notice)
    # This run's e-mails only: an earlier run's are in the outbox too.
    sent = Delivery.objects.filter(kind=LINK_NOTICE, status=Delivery.Status.SENT, pk__gt=earlier)
    _wait(lambda: sent.count() >= count, timeout=900)
    mail_seconds = time.perf_counter() - started
    counts: dict[bytes, bytes] = store.hgetall(MAIL_BY_RECIPIENT)  # type: ignore[assignment]
    received = {key.decode(): int(value) for key, value in counts.items()}
    figures = {
        "count": count,
        "worker_concurrency": WORKER_CONCURRENCY,
        "noop_tasks_per_s": round(count / noop_seconds),
        "emails_per_s": round(count / mail_seconds),
        "ratio": round(noop_seconds / mail_seconds, 2),
        "recipients_reached": len(received),
        "sent_more_than_once": sum(times > 1 for times in received.values()),
        "exactly_once": len(received) == count and set(received.values()) == {1},
    }
    print(f"  fan-out: {figures}", flush=True)
    return figures


def _wait(done: Callable[[], bool], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError("the worker did not finish in time")
        time.sleep(0.1)


# --- the report ----------------------------------------------------------------------------------


def write_report(figures: dict[str, Any]) -> None:
    from scripts.bench_report import render

    DOCS.mkdir(exist_ok=True)
    (DOCS / "benchmarks.json").write_text(json.dumps(figures, indent=2, default=str) + "\n")
    (DOCS / "benchmarks.md").write_text(render(figures))
    print(f"wrote {DOCS / 'benchmarks.md'} and {DOCS / 'benchmarks.json'}")


if __name__ == "__main__":
    main()
