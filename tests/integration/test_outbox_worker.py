"""The outbox against the real services: a Redis broker (db 11), PostgreSQL and real workers.

- The broker is down when the transaction commits: the service answers normally, the row waits,
  and the sweeper on the worker sends it once the broker is back.
- A worker process dies after the provider accepted the message and before the mark: the task
  is redelivered (acks late, reject on worker lost) and sends nothing; exactly one message went,
  and after the timeout the row shows UNKNOWN to staff, never resent by itself.
"""

import datetime
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from django.conf import settings
from django.core import mail
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from accounts import services
from accounts.rights import Right
from portal.celery import app as portal_app
from portal.models import Delivery
from portal.outbox import queue_email, sending
from portal.tasks import sweep_outbox
from tests.accounts.delegation_factories import administrator
from tests.accounts.factories import BusinessAccountFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.conftest import postgres_in_use, redis_available, require_service
from tests.factories import UserFactory
from tests.integration.conftest import _dedicated_db, _forget_connections
from tests.integration.fault_support import thread_worker
from tests.integration.waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

OUTBOX_REDIS_DB = 11  # this module's own: other worker tests may run at the same time
CLOSED_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1
ROOT = Path(__file__).resolve().parents[2]
WORKER_START_SECONDS = 60.0


@pytest.fixture(scope="module")
def outbox_broker() -> str:
    require_service("PostgreSQL (DATABASE_URL)", postgres_in_use())
    url = os.environ.get("REDIS_URL", "") or settings.REDIS_URL
    require_service("Redis at REDIS_URL", bool(url) and redis_available(url))
    return _dedicated_db(url, OUTBOX_REDIS_DB)


def use_broker(app: Celery, url: str) -> None:
    app.conf.update(broker_url=url, broker_read_url=None, broker_write_url=None)
    _forget_connections(app)


@pytest.fixture
def real_broker(outbox_broker: str) -> Iterator[Celery]:
    """The portal's app publishing to Redis db 11 (not eagerly), restored afterwards."""
    app = portal_app
    saved = {
        key: app.conf[key]
        for key in ("broker_url", "broker_read_url", "broker_write_url", "task_always_eager")
    }
    app.conf.update(task_always_eager=False)
    use_broker(app, outbox_broker)
    redis.Redis.from_url(outbox_broker).flushdb()
    try:
        yield app
    finally:
        app.conf.update(saved)
        _forget_connections(app)
        redis.Redis.from_url(outbox_broker).flushdb()


def test_with_the_broker_down_the_service_answers_and_the_sweeper_sends_later(
    real_broker, outbox_broker, settings
):
    account = BusinessAccountFactory.create(legal_name="Prairie Pottery Studio")
    admin = administrator(account).user
    target = AccountLinkFactory.create(account=account, right=Right.CONSULT)

    use_broker(real_broker, CLOSED_BROKER)
    link = services.remove_user(actor=admin, account=account, link_id=target.pk, ip=None)

    assert link.status == "removed"  # committed, and the enqueue's failure did not escape
    delivery = Delivery.objects.get(kind="accounts.user_removed")
    assert delivery.status == Delivery.Status.PENDING and mail.outbox == []

    use_broker(real_broker, outbox_broker)
    settings.PORTAL_OUTBOX_REQUEUE_AFTER = 0  # the lost hand-over is due at once
    with thread_worker(real_broker):
        sweep_outbox.delay()
        assert wait_for(lambda: len(mail.outbox) == 1), "the sweeper did not send within 10 s"

    assert mail.outbox[0].to == [target.user.email]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SENT, 1)


# --- a worker process killed after the provider accepted -----------------------------------------


def _test_database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def dying_worker(real_broker: Celery, outbox_broker: str, tmp_path: Path) -> Iterator[Any]:
    """`celery worker` in its own process (prefork, one child) whose mail backend hands the
    message to a "provider" (a folder) and then kills the child process."""
    provider = tmp_path / "provider"
    provider.mkdir()
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": outbox_broker,
        "DJANGO_EMAIL_BACKEND": "tests.portal.outbox_backends.ProviderThenDeathBackend",
        "PORTAL_TEST_PROVIDER_DIR": str(provider),
        "CELERY_SKIP_CHECKS": "1",
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=prefork"]
    command += ["--concurrency=1", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    command += ["--loglevel=INFO", "--hostname=outbox-o1@%h"]
    with log_path.open("wb") as log:
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        started = wait_for(lambda: b"ready." in log_path.read_bytes(), WORKER_START_SECONDS)
        assert started, log_path.read_text(errors="replace")[-3000:]
        yield provider, log_path
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)


def test_a_worker_killed_after_the_provider_accepted_sends_once_and_shows_unknown(
    dying_worker, settings
):
    provider, log_path = dying_worker
    recipient = UserFactory.create(email="ava@prairie.example")
    account = BusinessAccountFactory.create(legal_name="Prairie Pottery Studio")

    with transaction.atomic():
        delivery = queue_email(
            kind="accounts.user_removed",
            to=recipient.email,
            user=recipient,
            language="en",
            account_id=account.pk,
            facts={"first_name": "Ava"},
            dedupe_key="integration:killed-after-accept",
        )

    def log() -> str:
        return log_path.read_text(errors="replace")

    assert wait_for(lambda: len(list(provider.iterdir())) == 1, 30), log()[-3000:]
    # The child died; the master requeued the task; a new child claimed nothing and sent nothing.
    assert wait_for(lambda: "succeeded" in log() and ": False" in log(), 60), log()[-3000:]
    assert "WorkerLostError" in log() or "exited with" in log()
    assert len(list(provider.iterdir())) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SENDING, 1)

    later = timezone.now() + datetime.timedelta(seconds=settings.PORTAL_OUTBOX_SENDING_TIMEOUT + 1)
    assert sending.sweep(at=later) == {"unknown": 1, "released": 0, "enqueued": 0}
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.UNKNOWN
    assert sending.sweep(at=later + datetime.timedelta(hours=1))["enqueued"] == 0
    assert len(list(provider.iterdir())) == 1


def test_a_database_error_before_the_claim_is_retried_not_lost(real_broker, monkeypatch):
    """After a database restart each worker child's first query fails on its broken kept
    connection; the task retries on a fresh one instead of leaving the row to the sweeper."""
    real_send, calls = sending.send, []

    def restarted_database(delivery_id: int) -> bool:
        calls.append(delivery_id)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real_send(delivery_id)

    monkeypatch.setattr(sending, "send", restarted_database)
    recipient = UserFactory.create(email="liam@prairie.example")
    account = BusinessAccountFactory.create(legal_name="Prairie Pottery Studio")
    with thread_worker(real_broker):
        with transaction.atomic():
            delivery = queue_email(
                kind="accounts.user_removed",
                to=recipient.email,
                user=recipient,
                language="en",
                account_id=account.pk,
                facts={"first_name": "Liam"},
                dedupe_key="integration:database-restart",
            )
        assert wait_for(lambda: len(mail.outbox) == 1), "the retried task did not send"

    assert len(calls) == 2
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SENT, 1)
