"""A worker task starts outside any transaction, even when a time limit interrupted an earlier
task of the process in its commit and left the connection marked as inside one (the benchmark's
burst of tracking events did: every later task of that worker process failed)."""

import logging
from types import SimpleNamespace

import pytest
from django.db import connection, transaction

from accounts.models import User
from portal.celery import start_outside_any_transaction
from returns.tasks import apply_pending_events
from tests.conftest import postgres_in_use, require_service

pytestmark = pytest.mark.django_db(transaction=True)


def worker_task(*, eager: bool) -> SimpleNamespace:
    return SimpleNamespace(name=apply_pending_events.name, request=SimpleNamespace(is_eager=eager))


def left_inside_a_transaction() -> None:
    """What the interrupted task left: a transaction never exited, its connection closed."""
    transaction.atomic().__enter__()
    User.objects.exists()
    connection.close()
    with pytest.raises(Exception, match=r"atomic block|connection is closed"):
        User.objects.exists()


def test_the_next_task_on_the_worker_starts_afresh_and_says_so(caplog):
    # SQLite keeps an in-memory database open on close: only a server's connection closes.
    require_service("PostgreSQL (DATABASE_URL)", postgres_in_use())
    left_inside_a_transaction()

    with caplog.at_level(logging.ERROR, logger="portal.celery"):
        start_outside_any_transaction(task=worker_task(eager=False))

    assert not connection.in_atomic_block
    assert User.objects.exists() is False  # the database answers again
    assert "found the default connection inside a transaction" in caplog.text


def test_an_eager_task_keeps_its_callers_transaction():
    with transaction.atomic():
        start_outside_any_transaction(task=worker_task(eager=True))

        assert connection.in_atomic_block
        assert User.objects.exists() is False


def test_a_task_on_a_healthy_connection_changes_nothing(caplog):
    User.objects.exists()
    kept = connection.connection

    with caplog.at_level(logging.ERROR, logger="portal.celery"):
        start_outside_any_transaction(task=worker_task(eager=False))

    assert connection.connection is kept
    assert caplog.text == ""
