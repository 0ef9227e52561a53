"""Migration 0003: each link's former single right becomes its whole-account grant, and back."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("accounts", "0002_account_links")]
AFTER = [("accounts", "0003_delegated_users")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_rights_move_into_grants_and_back():
    old = migrate(BEFORE)
    user = old.get_model("accounts", "User").objects.create(username="a@x.example")
    account = old.get_model("accounts", "BusinessAccount").objects.create(
        customer_number="0000000001",
        kind="COMMERCIAL",
        legal_name="A",
        street_address="1 Main",
        city="Ottawa",
        province="ON",
        postal_code="K1A 0B1",
    )
    link = old.get_model("accounts", "AccountLink").objects.create(
        user=user, account=account, right=20, is_administrator=True
    )
    try:
        new = migrate(AFTER)
        grant = new.get_model("accounts", "Grant").objects.get(link_id=link.pk)
        assert (grant.contract_id, grant.level) == (None, 20)

        back = migrate(BEFORE)
        assert back.get_model("accounts", "AccountLink").objects.get(pk=link.pk).right == 20
    finally:  # back to the latest state, so later tests see every later migration too
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
