"""Migrations 0009-0010: the linking e-mails' sending state moves into the outbox, losing none
(and back)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

# The outages app's latest state too (its PostponedTask rows): outages never depends on accounts.
OUTAGES = ("outages", "0006_notice_state_in_outbox")
BEFORE = [("accounts", "0008_delete_email_sms_deliveries"), OUTAGES]
AFTER = [("accounts", "0010_link_notice_state_in_outbox"), OUTAGES]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest():
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def _people(old):
    User = old.get_model("accounts", "User")
    account = old.get_model("accounts", "BusinessAccount").objects.create(
        customer_number="0000000001",
        kind="COMMERCIAL",
        legal_name="A",
        street_address="1 Main",
        city="Ottawa",
        province="ON",
        postal_code="K1A 0B1",
    )

    def link(name, **fields):
        user = User.objects.create(username=name, email=f"{name}@x.example", language="fr")
        return old.get_model("accounts", "AccountLink").objects.create(
            user=user, account=account, **fields
        )

    return account, link


def test_pending_sent_and_failed_e_mails_move_into_the_outbox_and_back():
    old = migrate(BEFORE)
    account, link = _people(old)
    LinkNotice = old.get_model("accounts", "LinkNotice")
    linked = link("ada")
    pending = LinkNotice.objects.create(
        link=linked, email="p@x.example", name="P", status="pending", attempts=2, last_error="E"
    )
    sent = LinkNotice.objects.create(
        link=linked, email="s@x.example", name="S", status="sent", sent_at=linked.created_at
    )
    failed = LinkNotice.objects.create(
        link=linked, email="f@x.example", name="F", status="failed", attempts=6
    )
    removed = {"status": "removed", "removed_at": linked.created_at}
    by_staff = link("staff", removed_via="staff", **removed)
    by_contact = link(
        "contact", removed_via="contact_link", removal_notified_at=linked.created_at, **removed
    )
    link("self", removed_via="self", **removed)  # not told
    link("admin", removed_via="administrator", removal_notified_at=linked.created_at, **removed)
    old.get_model("outages", "PostponedTask").objects.create(
        task_name="accounts.tasks.send_link_notice",
        kwargs={"notice_id": pending.pk},
        feature="account_linking",
        run_after=linked.created_at,
    )
    try:
        new = migrate(AFTER)
        rows = {row.dedupe_key: row for row in new.get_model("portal", "Delivery").objects.all()}
        assert {key: (row.status, row.attempts) for key, row in rows.items()} == {
            f"accounts.link_notice:{pending.pk}": ("pending", 2),
            f"accounts.link_notice:{sent.pk}": ("sent", 0),
            f"accounts.link_notice:{failed.pk}": ("failed", 6),
            f"accounts.link_removed:{by_staff.pk}": ("pending", 0),
            f"accounts.link_removed:{by_contact.pk}": ("sent", 0),
        }
        carried = rows[f"accounts.link_notice:{pending.pk}"]
        assert (carried.kind, carried.address, carried.account_id, carried.facts) == (
            "accounts.link_notice",
            "p@x.example",
            account.pk,
            {"notice_id": pending.pk},
        )
        told = rows[f"accounts.link_removed:{by_staff.pk}"]
        assert (told.address, told.user_id, told.language, told.facts) == (
            "staff@x.example",
            by_staff.user_id,
            "fr",
            {"link_id": by_staff.pk},
        )
        assert not new.get_model("outages", "PostponedTask").objects.exists()

        back = migrate(BEFORE)
        notices = back.get_model("accounts", "LinkNotice").objects
        assert {(n.pk, n.status, n.attempts, n.last_error) for n in notices.all()} == {
            (pending.pk, "pending", 2, "E"),
            (sent.pk, "sent", 0, ""),
            (failed.pk, "failed", 6, ""),
        }
        links = back.get_model("accounts", "AccountLink").objects
        assert links.get(pk=by_contact.pk).removal_notified_at == linked.created_at
        assert links.get(pk=by_staff.pk).removal_notified_at is None
        assert not back.get_model("portal", "Delivery").objects.exists()
    finally:  # back to the latest state, so later tests see every later migration too
        latest()


def test_a_notice_pending_at_the_upgrade_is_sent_once_by_the_sweeper(mailoutbox):
    old = migrate(BEFORE)
    _account, link = _people(old)
    pending = old.get_model("accounts", "LinkNotice").objects.create(
        link=link("ada"), email="owen@x.example", name="Owen", status="pending"
    )
    latest()

    from accounts.models import LinkNotice
    from portal import tasks

    assert tasks.sweep_outbox.apply().get()["enqueued"] == 1
    assert tasks.sweep_outbox.apply().get()["enqueued"] == 0

    assert [m.to for m in mailoutbox] == [["owen@x.example"]]
    assert LinkNotice.objects.get(pk=pending.pk).sent_at is not None
