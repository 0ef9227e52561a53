"""Migration 0006: addresses "Add a user" stored as confirmed (only an administrator had typed
them) stop counting as confirmed; every other address keeps its state."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("accounts", "0005_investigation_reference")]
AFTER = [("accounts", "0006_pre_registration_language")]
ALLAUTH = [("account", "0009_emailaddress_unique_primary_email")]  # allauth's EmailAddress


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets + ALLAUTH).apps


def test_addresses_typed_for_new_users_are_no_longer_confirmed():
    old = migrate(BEFORE)
    User = old.get_model("accounts", "User")
    EmailAddress = old.get_model("account", "EmailAddress")
    AccountLink = old.get_model("accounts", "AccountLink")
    AuditEvent = old.get_model("accounts", "AuditEvent")
    account = old.get_model("accounts", "BusinessAccount").objects.create(
        customer_number="0000000001",
        kind="COMMERCIAL",
        legal_name="A",
        street_address="1 Main",
        city="Ottawa",
        province="ON",
        postal_code="K1A 0B1",
    )
    made, existing, signed_up = (
        User.objects.create(username=name, email=name)
        for name in ("made@x.example", "had@x.example", "self@x.example")
    )
    for user in (made, existing, signed_up):
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    for user, new_profile in ((made, True), (existing, False)):
        link = AccountLink.objects.create(user=user, account=account, method="administrator")
        AuditEvent.objects.create(
            event="user_added",
            account=account,
            details={"link_id": link.pk, "user_email": user.email, "new_profile": new_profile},
        )
    try:
        migrate(AFTER)
        verified = dict(EmailAddress.objects.values_list("email", "verified"))
        assert verified == {
            "made@x.example": False,
            "had@x.example": True,
            "self@x.example": True,
        }
    finally:  # back to the latest state, for the tests that follow
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
