"""Workers killed around the provider's acceptance, on a real Redis broker and PostgreSQL.

test_outbox_worker.py kills a worker's child right after the provider took an *e-mail*. Here:
- the same for a *text* (the temporary password): the text went once, the password it carries
  is the one that works (committed before sending), the row turns UNKNOWN for staff and is never
  resent by itself; staff's "Send again" sends exactly one more, with a new password;
- a whole worker (master and child) killed *before* it claimed the row: nothing went, the
  sweeper hands the row to another worker, which sends it once; when the broker gives the dead
  worker's unacknowledged task back (its visibility timeout), that copy sends nothing.
"""

import datetime
import os
import re
from pathlib import Path

import pytest
import sms
from django.core import mail
from django.db import connection, connections, transaction
from django.utils import timezone
from kombu import Connection

from accounts.services.messages import queue_temporary_password
from portal.models import Delivery
from portal.outbox import queue_email, sending
from portal.tasks import send_delivery, sweep_outbox
from tests.accounts.factories import BusinessAccountFactory
from tests.conftest import postgres_in_use, redis_available, require_service
from tests.factories import UserFactory
from tests.integration.conftest import _dedicated_db
from tests.integration.fault_support import (
    kill_group,
    process_worker,
    real_broker,
    thread_worker,
    use_broker,
)
from tests.integration.waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

REDIS_DB = 10  # this module's own: other worker suites use 11 to 15 at the same time
DEAD_BROKER = f"redis://127.0.0.1:1/{REDIS_DB}"  # nothing listens on port 1
Status = Delivery.Status
PASSWORD = re.compile(r"Business Portal: (\S+) is your temporary password")


@pytest.fixture
def broker(settings) -> str:
    require_service("PostgreSQL (DATABASE_URL)", postgres_in_use())
    url = os.environ.get("REDIS_URL", "") or settings.REDIS_URL
    require_service("Redis at REDIS_URL", bool(url) and redis_available(url))
    return _dedicated_db(url, REDIS_DB)


@pytest.fixture(autouse=True)
def sms_outbox(settings) -> list:
    settings.SMS_BACKEND = "sms.backends.locmem.SmsBackend"
    sms.outbox = []  # type: ignore[attr-defined]
    return sms.outbox  # type: ignore[attr-defined]


def log_of(path: Path) -> str:
    return path.read_text(errors="replace")


# --- a text, the worker's child killed after the provider took it -------------------------------


def test_a_text_taken_by_the_provider_before_the_worker_died_goes_once_and_its_password_works(
    broker, tmp_path, sms_outbox, settings
):
    # The worker runs the real settings, whose hasher the tests' own list lacks.
    settings.PASSWORD_HASHERS = [
        *settings.PASSWORD_HASHERS,
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    provider = tmp_path / "provider"
    provider.mkdir()
    log_path = tmp_path / "worker.log"
    user = UserFactory.create(email="noah@prairie.example")
    user.set_unusable_password()
    user.save()
    account = BusinessAccountFactory.create(legal_name="Prairie Pottery Studio")
    env = {
        "SMS_BACKEND": "tests.integration.fault_backends.TextThenDeathBackend",
        "PORTAL_TEST_PROVIDER_DIR": str(provider),
    }

    with (
        real_broker(broker) as app,
        process_worker(broker_url=broker, log_path=log_path, name="faults-sms", env=env),
    ):
        with transaction.atomic():
            delivery = queue_temporary_password(
                user=user, phone="+12045550123", account=account, about="integration:sms-death"
            )
        assert wait_for(lambda: len(list(provider.iterdir())) == 1, 30), log_of(log_path)[-3000:]
        # The child died; the master requeued the task; a new child claimed nothing.
        redelivered = wait_for(lambda: ": False" in log_of(log_path), 60)
        assert redelivered, log_of(log_path)[-3000:]
        assert "WorkerLostError" in log_of(log_path) or "exited with" in log_of(log_path)

        texts = list(provider.iterdir())
        assert len(texts) == 1
        texted = PASSWORD.search(texts[0].read_text())
        assert texted is not None
        user.refresh_from_db()
        assert user.check_password(texted.group(1))  # committed before the text went
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == (Status.SENDING, 1)

        timeout = datetime.timedelta(seconds=settings.PORTAL_OUTBOX_SENDING_TIMEOUT + 1)
        later = timezone.now() + timeout
        assert sending.sweep(at=later)["unknown"] == 1
        assert sending.sweep(at=later + datetime.timedelta(hours=1))["enqueued"] == 0
        delivery.refresh_from_db()
        assert delivery.status == Status.UNKNOWN

    # Staff checked with the person and send it again: exactly one more text, a new password.
    with real_broker(broker) as app, thread_worker(app) as finished:
        assert sending.send_again([delivery]) == 1
        assert wait_for(lambda: send_delivery.name in finished), "Send again sent nothing"

    assert len(sms_outbox) == 1 and len(list(provider.iterdir())) == 1
    again = PASSWORD.search(sms_outbox[0].body)
    assert again is not None and again.group(1) != texted.group(1)
    user.refresh_from_db()
    assert user.check_password(again.group(1)) and not user.check_password(texted.group(1))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SENT, 1)


# --- a whole worker killed before its claim -----------------------------------------------------


def claim_waiting_on_lock() -> list[int]:
    """Backends of the test database waiting for a row lock (the worker's claim)."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query ILIKE 'UPDATE%%portal_delivery%%'"
        )
        return [row[0] for row in cursor.fetchall()]


def test_a_worker_killed_before_its_claim_loses_nothing_and_its_redelivered_task_sends_nothing(
    broker, tmp_path, settings
):
    recipient = UserFactory.create(email="ava@prairie.example")
    account = BusinessAccountFactory.create(legal_name="Prairie Pottery Studio")
    log_path = tmp_path / "worker.log"
    locker = connections.create_connection("default")  # holds the row while the worker dies

    with real_broker(broker) as app:
        with process_worker(broker_url=broker, log_path=log_path, name="faults-kill", env={}) as w:
            use_broker(app, DEAD_BROKER)  # the row is made; its task waits for the lock below
            with transaction.atomic():
                delivery = queue_email(
                    kind="accounts.user_removed",
                    to=recipient.email,
                    user=recipient,
                    language="en",
                    account_id=account.pk,
                    facts={"first_name": "Ava"},
                    dedupe_key="integration:killed-before-claim",
                )
            use_broker(app, broker)
            try:
                locker.set_autocommit(False)
                with locker.cursor() as cursor:
                    cursor.execute(
                        "SELECT id FROM portal_delivery WHERE id = %s FOR UPDATE", [delivery.pk]
                    )
                send_delivery.delay(delivery.pk)  # what the commit hook does
                waiting = wait_for(lambda: bool(claim_waiting_on_lock()), 30)
                assert waiting, log_of(log_path)[-3000:]
                kill_group(w)
                with connection.cursor() as cursor:  # the dead machine's session ends too
                    for pid in claim_waiting_on_lock():
                        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            finally:
                locker.rollback()
                locker.close()

        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == (Status.PENDING, 0)

        with thread_worker(app) as finished:
            settings.PORTAL_OUTBOX_REQUEUE_AFTER = 0  # the lost hand-over is due at once
            sweep_outbox.delay()
            assert wait_for(lambda: len(mail.outbox) == 1), "the sweeper did not send"
            assert wait_for(lambda: finished.count(send_delivery.name) == 1)  # that task finished
            # The broker gives the dead worker's unacknowledged task back (visibility timeout).
            with Connection(broker, transport_options={"visibility_timeout": 0}) as broker_conn:
                qos = broker_conn.default_channel.qos  # type: ignore[attr-defined]  # Redis's
                qos.restore_visible(num=100)
            redelivered = wait_for(lambda: finished.count(send_delivery.name) >= 2)
            assert redelivered, finished

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [recipient.email]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SENT, 1)
