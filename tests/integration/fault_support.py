"""What the fault tests share: a broker of their own, a worker in a thread or in a process of its
own (which a test may kill), and the test database's URL for other processes."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from celery import Celery
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connection

from portal.celery import app as portal_app
from tests.integration.conftest import _forget_connections
from tests.integration.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
WORKER_START_SECONDS = 60.0


def test_database_url() -> str:
    """The test database as a DATABASE_URL, for a process started by the test."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{db['USER']}{password}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def use_broker(app: Celery, url: str) -> None:
    app.conf.update(broker_url=url, broker_read_url=None, broker_write_url=None)
    _forget_connections(app)


@contextmanager
def real_broker(url: str) -> Iterator[Celery]:
    """The portal's app publishing to `url` (not eagerly), its queue emptied before and after."""
    app = portal_app
    keys = ("broker_url", "broker_read_url", "broker_write_url", "task_always_eager")
    saved = {key: app.conf[key] for key in keys}
    app.conf.update(task_always_eager=False)
    use_broker(app, url)
    redis.Redis.from_url(url).flushdb()
    try:
        yield app
    finally:
        app.conf.update(saved)
        _forget_connections(app)
        redis.Redis.from_url(url).flushdb()


@contextmanager
def thread_worker(app: Celery) -> Iterator[list[str]]:
    """A worker in a thread of this process (it shares the locmem mail and SMS outboxes).

    Yields the names of the tasks it finished, in order.
    """
    finished: list[str] = []

    def after_task(sender: Any = None, **kwargs: Any) -> None:
        finished.append(sender.name)
        connection.close()  # the worker thread's own; left open, it would keep the test DB

    task_postrun.connect(after_task, weak=False)
    skip_checks = os.environ.get("CELERY_SKIP_CHECKS")
    os.environ["CELERY_SKIP_CHECKS"] = "1"  # Django's checks ran when the suite started
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield finished
    finally:
        task_postrun.disconnect(after_task)
        if skip_checks is None:
            os.environ.pop("CELERY_SKIP_CHECKS", None)
        else:
            os.environ["CELERY_SKIP_CHECKS"] = skip_checks


@contextmanager
def process_worker(
    *, broker_url: str, log_path: Path, name: str, env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """`celery worker` (prefork, one child) in a session of its own, on the test database.

    Yields once it is ready; a test may kill its whole process group. Stopped warmly at the end
    if still running.
    """
    full_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": broker_url,
        "CELERY_SKIP_CHECKS": "1",
        "PYTHONPATH": str(ROOT),
        **env,
    }
    command = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=prefork"]
    command += ["--concurrency=1", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    command += ["--loglevel=INFO", f"--hostname={name}@%h"]
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            command,
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        started = wait_for(lambda: b"ready." in log_path.read_bytes(), WORKER_START_SECONDS)
        assert started, log_path.read_text(errors="replace")[-3000:]
        yield worker
    finally:
        if worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                kill_group(worker)


def kill_group(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and its children at once, as when its machine dies."""
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
