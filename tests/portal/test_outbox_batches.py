"""portal.outbox: rows one transaction queues go to workers together, in tasks of up to
SEND_BATCH rows, each row handed over once; a row alone keeps its own task. A rolled-back
savepoint drops only its rows, and a batch that runs long hands the rest to a task of its own."""

from typing import Any

import pytest
from django.core import mail
from django.db import transaction

from portal import tasks
from portal.models import Delivery
from portal.outbox import queue_email
from portal.outbox.queue import SEND_BATCH
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
Status = Delivery.Status
REMOVED = "accounts.user_removed"


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """A broker that keeps what it is handed, by task: ("one", id) or ("batch", [ids])."""
    handed: list[tuple[str, Any]] = []
    monkeypatch.setattr(tasks.send_delivery, "delay", lambda pk: handed.append(("one", pk)))
    monkeypatch.setattr(tasks.send_deliveries, "delay", lambda ids: handed.append(("batch", ids)))
    return handed


def queue(n: int) -> Delivery:
    user = UserFactory.create(email=f"user{n}@business.example", first_name=f"User {n}")
    return queue_email(
        kind=REMOVED,
        to=user.email,
        user=user,
        language="en",
        facts={"first_name": user.first_name},
        dedupe_key=f"batch:{n}",
    )


def test_rows_queued_together_are_handed_over_in_batches_each_once_in_order(
    broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        rows = [queue(n).pk for n in range(2 * SEND_BATCH + 5)]

    assert broker == [
        ("batch", rows[:SEND_BATCH]),
        ("batch", rows[SEND_BATCH : 2 * SEND_BATCH]),
        ("batch", rows[2 * SEND_BATCH :]),
    ]


def test_a_row_alone_keeps_a_task_of_its_own(broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        alone = queue(1)

    assert broker == [("one", alone.pk)]


def test_a_rolled_back_savepoint_drops_its_rows_and_the_rows_after_it_still_go(
    broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            queue(0)  # the batch's callback is registered in the savepoint
            raise RuntimeError
        after = [queue(1).pk, queue(2).pk]

    assert broker == [("batch", after)]
    assert not Delivery.objects.filter(dedupe_key="batch:0").exists()


def test_the_rows_of_a_savepoint_kept_go_with_the_others_each_once(
    broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        first = queue(0).pk
        with transaction.atomic():
            inner = queue(1).pk  # a batch of the savepoint's own
        last = queue(2).pk  # joins the transaction's, still registered

    assert sorted(broker) == sorted([("batch", [first, last]), ("one", inner)])


def test_a_batch_sends_each_row_once_and_a_redelivered_batch_sends_nothing_again(mailoutbox):
    rows = [queue(n).pk for n in range(3)]

    assert tasks.send_deliveries.apply(args=(rows,)).get() == 3
    assert tasks.send_deliveries.apply(args=(rows,)).get() == 0

    assert sorted(message.to[0] for message in mailoutbox) == [
        "user0@business.example",
        "user1@business.example",
        "user2@business.example",
    ]
    assert set(Delivery.objects.values_list("status", flat=True)) == {Status.SENT}


def test_a_batch_past_its_time_sends_one_group_and_hands_the_rest_to_a_task_of_its_own(
    broker, monkeypatch
):
    monkeypatch.setattr(tasks, "BATCH_SECONDS", 0.0)
    monkeypatch.setattr(tasks, "CLAIM_TOGETHER", 2)
    rows = [queue(n).pk for n in range(5)]

    assert tasks.send_deliveries.apply(args=(rows,)).get() == 2

    assert [message.to[0] for message in mail.outbox] == [
        "user0@business.example",
        "user1@business.example",
    ]
    assert broker == [("batch", rows[2:])]
    assert Delivery.objects.get(pk=rows[2]).status == Status.PENDING


def test_a_batch_within_its_time_sends_every_group(broker, monkeypatch):
    monkeypatch.setattr(tasks, "CLAIM_TOGETHER", 2)
    rows = [queue(n).pk for n in range(5)]

    assert tasks.send_deliveries.apply(args=(rows,)).get() == 5

    assert len(mail.outbox) == 5
    assert broker == []


def test_a_row_queued_sends_the_model_signals_as_a_save_would_and_its_twin_no_post_save(broker):
    from django.db.models.signals import post_save, pre_save

    heard: list[tuple[str, Any, Any]] = []

    def before(sender: Any, instance: Delivery, **kwargs: Any) -> None:
        heard.append(("pre_save", instance.pk, kwargs))

    def after(sender: Any, instance: Delivery, **kwargs: Any) -> None:
        heard.append(("post_save", instance.pk, kwargs))

    pre_save.connect(before, sender=Delivery, dispatch_uid="heard-before")
    post_save.connect(after, sender=Delivery, dispatch_uid="heard-after")
    try:
        first = queue(1)
        twin = queue_email(
            kind=REMOVED, to=first.address, language="en", facts={}, dedupe_key=first.dedupe_key
        )
        assert twin.pk == first.pk  # found, not created
    finally:
        pre_save.disconnect(sender=Delivery, dispatch_uid="heard-before")
        post_save.disconnect(sender=Delivery, dispatch_uid="heard-after")

    as_saved = {"raw": False, "using": "default", "update_fields": None}
    # The twin's insert is tried (pre_save) and refused: nothing saved, so no post_save.
    assert [(name, pk) for name, pk, _ in heard] == [
        ("pre_save", None),
        ("post_save", first.pk),
        ("pre_save", None),
    ]
    assert {key: heard[0][2][key] for key in as_saved} == as_saved
    assert {key: heard[1][2][key] for key in as_saved} == as_saved
    assert heard[1][2]["created"] is True


def test_the_row_queued_is_a_saved_row(broker):
    queued = queue(1)

    queued.validate_unique()  # not compared with itself: it is in the database already
    assert queued._state.db == "default"
