"""Reports read from the replica alias when one is configured; nothing else does, and nothing is
written there (portal/replica.py). The "replica" alias here mirrors the test database, as a real
replica mirrors the primary."""

import datetime

import pytest
from django.db import connections, router
from django.test.utils import CaptureQueriesContext

from accounts.models import BusinessAccount
from portal.replica import REPLICA, ReplicaRouter, reading_from_replica
from returns import reports
from returns.models import DailyReturns
from tests.accounts.factories import BusinessAccountFactory

pytestmark = pytest.mark.django_db(databases=["default", REPLICA])


@pytest.fixture
def replica(settings):
    settings.PORTAL_REPORTS_FROM_REPLICA = True
    return connections[REPLICA]


def test_without_a_replica_every_read_stays_on_the_primary():
    with reading_from_replica():
        assert ReplicaRouter().db_for_read(DailyReturns) is None
    assert router.db_for_read(DailyReturns) == "default"


def test_with_a_replica_only_reads_inside_the_block_go_there(replica):
    assert router.db_for_read(DailyReturns) == "default"
    with reading_from_replica():
        assert router.db_for_read(DailyReturns) == REPLICA
        assert router.db_for_read(BusinessAccount) == REPLICA
        assert router.db_for_write(DailyReturns) == "default"
    assert router.db_for_read(DailyReturns) == "default"


def test_the_replica_is_never_migrated():
    assert ReplicaRouter().allow_migrate(REPLICA, "returns") is False
    assert ReplicaRouter().allow_migrate("default", "returns") is True


# Committed rows, as a replica only ever sees those (SQLite's shared memory would lock otherwise).
@pytest.mark.django_db(databases=["default", REPLICA], transaction=True)
def test_the_reports_read_the_replica_and_nothing_else_does(replica):
    account = BusinessAccountFactory.create()
    with CaptureQueriesContext(replica) as on_replica:
        BusinessAccount.objects.get(pk=account.pk)  # an ordinary read: the primary
        reports.returns_report(account, datetime.date(2026, 11, 28), reports.Grain.DAY)
        reports.arrivals_forecast(account, datetime.date(2026, 11, 28))
    read_there = [query["sql"] for query in on_replica.captured_queries]

    assert len(read_there) == 3  # the rollup; the labels on their way and the policies' provinces
    assert "returns_dailyreturns" in read_there[0]
    assert 'FROM "returns_returnlabel"' in read_there[1]
    assert 'FROM "returns_returnpolicy"' in read_there[2]
    assert not any("accounts_businessaccount" in sql for sql in read_there)
