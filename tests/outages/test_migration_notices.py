"""Migrations 0004-0006: each maintenance notice gets its outbox delivery, which takes over its
sending state, losing none (and back)."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

OLD = ("outages", "0003_notice_attempts")
NEW = ("outages", "0006_notice_state_in_outbox")
STARTS = datetime.datetime(2031, 6, 25, 0, 0, tzinfo=datetime.UTC)


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    # The people's app at its latest state (its rows need every column it has now).
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] != "outages"]
    executor.migrate([target, *others])
    return executor.loader.project_state([target, *others]).apps


def latest():
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def _window_and_people(old):
    window = old.get_model("outages", "MaintenanceWindow").objects.create(
        title_en="Upgrade",
        title_fr="Mise à niveau",
        starts_at=STARTS,
        ends_at=STARTS + datetime.timedelta(hours=4),
        revision=3,
    )
    User = old.get_model("accounts", "User")
    people = [
        User.objects.create(username=name, email=f"{name}@x.example", language=language)
        for name, language in (("ann", "fr"), ("bob", "en"), ("cat", "en"))
    ]
    return window, people


def test_every_notice_gets_its_delivery_and_back():
    old = migrate(OLD)
    window, (ann, bob, cat) = _window_and_people(old)
    Notice = old.get_model("outages", "MaintenanceNotice")
    sent = Notice.objects.create(
        window=window, user=ann, revision=1, kind="notice", status="sent", attempts=1
    )
    change = Notice.objects.create(window=window, user=ann, revision=3, kind="change")
    retrying = Notice.objects.create(
        window=window, user=bob, revision=3, status="failed", attempts=2, error="SMTP down"
    )
    spent = Notice.objects.create(window=window, user=cat, revision=3, status="failed", attempts=5)
    try:
        new = migrate(NEW)
        notices = new.get_model("outages", "MaintenanceNotice").objects.select_related("delivery")
        rows = {notice.pk: notice.delivery for notice in notices}
        assert {pk: (row.kind, row.status, row.attempts) for pk, row in rows.items()} == {
            sent.pk: ("outages.notice", "sent", 1),
            change.pk: ("outages.change", "pending", 0),
            retrying.pk: ("outages.notice", "pending", 2),
            spent.pk: ("outages.notice", "failed", 5),
        }
        carried = rows[change.pk]
        assert (carried.dedupe_key, carried.address, carried.user_id, carried.language) == (
            f"outages.notice:{window.pk}:{ann.pk}:3",
            "ann@x.example",
            ann.pk,
            "fr",
        )
        # A change notice compares with the revision last sent to the person.
        assert carried.facts == {"window_id": window.pk, "revision": 3, "told_revision": 1}
        assert rows[retrying.pk].last_error == "SMTP down"

        back = migrate(OLD)
        notices = back.get_model("outages", "MaintenanceNotice").objects
        assert {(n.pk, n.status, n.attempts, n.error) for n in notices.all()} == {
            (sent.pk, "sent", 1, ""),
            (change.pk, "pending", 0, ""),
            (retrying.pk, "pending", 2, "SMTP down"),
            (spent.pk, "failed", 5, ""),
        }
        assert not back.get_model("portal", "Delivery").objects.exists()
    finally:  # back to the latest state, so later tests see every later migration too
        latest()
