"""Migrations accounts 0007/0008: every EmailDelivery and SmsDelivery row is carried into the
outbox (pending ones stay pending and due, failed ones stay for staff), none lost; and back."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("accounts", "0006_pre_registration_language"), ("portal", "0002_outbox_delivery")]
AFTER = [("accounts", "0008_delete_email_sms_deliveries")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_the_delegated_users_deliveries_move_into_the_outbox_and_back():
    old = migrate(BEFORE)
    user = old.get_model("accounts", "User").objects.create(
        username="sophie@x.example", email="sophie@x.example", language="fr"
    )
    account = old.get_model("accounts", "BusinessAccount").objects.create(
        customer_number="0000000001",
        kind="COMMERCIAL",
        legal_name="A",
        street_address="1 Main",
        city="Ottawa",
        province="ON",
        postal_code="K1A 0B1",
    )
    emails = old.get_model("accounts", "EmailDelivery").objects
    pending = emails.create(
        kind="welcome",
        user=user,
        email=user.email,
        language="fr",
        account=account,
        context={"first_name": "Sophie", "rights": [[None, 20]]},
    )
    failed = emails.create(
        kind="rights_changed",
        user=user,
        email=user.email,
        account=account,
        status="failed",
        attempts=6,
        last_error="SMTPServerDisconnected",
    )
    text = old.get_model("accounts", "SmsDelivery").objects.create(
        kind="temporary_password", user=user, phone="+16135550142", language="fr"
    )
    try:
        new = migrate(AFTER)
        rows = {
            row.dedupe_key: row
            for row in new.get_model("portal", "Delivery").objects.order_by("pk")
        }
        assert set(rows) == {
            f"accounts.welcome:{pending.pk}",
            f"accounts.rights_changed:{failed.pk}",
            f"accounts.temporary_password:{text.pk}",
        }
        welcome = rows[f"accounts.welcome:{pending.pk}"]
        assert (welcome.kind, welcome.channel, welcome.status, welcome.address) == (
            "accounts.welcome",
            "email",
            "pending",
            "sophie@x.example",
        )
        assert (welcome.language, welcome.account_id, welcome.user_id) == (
            "fr",
            account.pk,
            user.pk,
        )
        assert welcome.facts == {"first_name": "Sophie", "rights": [[None, 20]]}
        assert welcome.enqueued_at is None  # due: the sweeper hands it over within a minute
        gone = rows[f"accounts.rights_changed:{failed.pk}"]
        assert (gone.status, gone.attempts, gone.last_error) == (
            "failed",
            6,
            "SMTPServerDisconnected",
        )
        sms = rows[f"accounts.temporary_password:{text.pk}"]
        assert (sms.channel, sms.address, sms.facts) == ("sms", "+16135550142", {})

        back = migrate(BEFORE)
        assert back.get_model("accounts", "EmailDelivery").objects.count() == 2
        assert str(back.get_model("accounts", "SmsDelivery").objects.get().phone) == "+16135550142"
        assert not back.get_model("portal", "Delivery").objects.exists()
    finally:  # back to the latest state, so later tests see every later migration too
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
