"""portal.outbox: rows claimed together (sending.send_together). One claim, one commit and one
mark for the group, each row still sent at most once; a row held by the gate, of a kind gone or
whose message cannot be made sends the group one row at a time, so no row's trouble touches
another's; a provider's refusal fails its row alone. Link notices build their contexts together,
each in its contact's language."""

import contextlib
import datetime
from collections.abc import Callable, Iterator

import pytest
from anymail.exceptions import AnymailRecipientsRefused
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import notifications
from accounts.models import LinkNotice
from outages import gate
from outages.features import Feature
from portal.models import Delivery
from portal.outbox import queue_email, sending
from tests.accounts.link_factories import LinkNoticeFactory
from tests.outages.factories import closing
from tests.portal.outbox_backends import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_backends", "clock")]
Status = Delivery.Status
MINUTE = datetime.timedelta(minutes=1)


def notices(count: int, **fields: object) -> list[Delivery]:
    """`count` link notices not yet e-mailed, queued; their rows in order."""
    return [
        notifications.queue_link_notice(LinkNoticeFactory.create(sent_at=None, **fields))
        for _ in range(count)
    ]


def welcome(key: str) -> Delivery:
    """allauth's message, queued finished: a kind without group contexts, with an after_send."""
    return queue_email(
        kind="allauth.message",
        to="sophie@mapleleaf.example",
        language="en",
        facts={"subject": "Welcome", "body": "Hello.", "html": ""},
        dedupe_key=key,
    )


@contextlib.contextmanager
def just_before_the_mark(change: Callable[[], object]) -> Iterator[list[bool]]:
    """Run `change` once, just before the group's mark; yields whether it ran."""
    fired: list[bool] = []

    def wrapper(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        marking = sql.startswith('UPDATE "portal_delivery"') and Status.SENT in (params or ())
        if marking and not fired:
            fired.append(True)
            change()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield fired


def ids(rows: list[Delivery]) -> list[int]:
    return [row.pk for row in rows]


def statuses(rows: list[Delivery]) -> list[str]:
    by_pk = dict(Delivery.objects.filter(pk__in=ids(rows)).values_list("pk", "status"))
    return [by_pk[row.pk] for row in rows]


def test_a_group_is_sent_in_order_each_once_stamped_and_marked_sent():
    rows = notices(3)

    assert sending.send_together(ids(rows)) == 3
    assert sending.send_together(ids(rows)) == 0  # redelivered: nothing claimed again

    assert [message.to[0] for message in mail.outbox] == [row.address for row in rows]
    assert statuses(rows) == [Status.SENT] * 3
    assert set(Delivery.objects.values_list("sent_at", "claimed_at", "attempts")) == {(NOW, NOW, 1)}
    assert set(LinkNotice.objects.values_list("sent_at", flat=True)) == {NOW}


def test_a_group_costs_the_same_statements_whatever_its_size():
    def statements(count: int) -> int:
        rows = notices(count)
        with CaptureQueriesContext(connection) as queries:
            assert sending.send_together(ids(rows)) == count
        return len(queries)

    statements(1)  # the gate's snapshot, read once per process
    # The claim, the notices read and stamped, the mark (and the transaction's savepoint here).
    assert statements(2) == statements(6) <= 6


def test_rows_not_due_or_already_sent_are_left_and_the_others_go():
    sent, waiting, due = notices(3)
    sending.send(sent.pk)
    Delivery.objects.filter(pk=waiting.pk).update(next_attempt_at=NOW + datetime.timedelta(hours=1))
    mail.outbox.clear()

    assert sending.send_together([sent.pk, waiting.pk, due.pk]) == 1

    assert [message.to[0] for message in mail.outbox] == [due.address]
    assert statuses([sent, waiting, due]) == [Status.SENT, Status.PENDING, Status.SENT]


@pytest.fixture
def linking_closed() -> Iterator[None]:
    closing(Feature.ACCOUNT_LINKING)
    cache.clear()
    gate.forget_process_copy()
    yield
    gate.forget_process_copy()


def test_a_row_the_gate_holds_waits_without_a_try_and_the_others_of_its_group_go(linking_closed):
    held = notices(1)[0]
    allowed = welcome("allauth:together")

    assert sending.send_together([held.pk, allowed.pk]) == 1

    assert [message.to[0] for message in mail.outbox] == ["sophie@mapleleaf.example"]
    waiting = Delivery.objects.get(pk=held.pk)
    assert (waiting.status, waiting.attempts, waiting.held_for) == (
        Status.PENDING,
        0,
        Feature.ACCOUNT_LINKING,
    )


def test_a_row_whose_notice_is_gone_fails_alone_and_the_others_go_stamped():
    first, gone, last = notices(3)
    LinkNotice.objects.filter(pk=gone.facts["notice_id"]).delete()

    assert sending.send_together(ids([first, gone, last])) == 2

    assert [message.to[0] for message in mail.outbox] == [first.address, last.address]
    assert statuses([first, gone, last]) == [Status.SENT, Status.FAILED, Status.SENT]
    failed = Delivery.objects.get(pk=gone.pk)
    assert failed.last_error == "Undeliverable: The link notice no longer exists."
    assert failed.attempts == 1
    assert set(LinkNotice.objects.values_list("sent_at", flat=True)) == {NOW}


def test_a_refused_recipient_fails_its_row_alone(scripted_backends):
    rows = notices(3)
    scripted_backends.append(("before", AnymailRecipientsRefused("refused")))

    assert sending.send_together(ids(rows)) == 2

    assert statuses(rows) == [Status.FAILED, Status.SENT, Status.SENT]
    assert Delivery.objects.get(pk=rows[0].pk).last_error.startswith("AnymailRecipientsRefused")


def test_a_row_the_sweeper_turned_unknown_meanwhile_is_still_marked_sent():
    rows = notices(2)

    with just_before_the_mark(
        lambda: Delivery.objects.filter(pk=rows[0].pk).update(status=Status.UNKNOWN)
    ) as fired:
        assert sending.send_together(ids(rows)) == 2

    assert fired and statuses(rows) == [Status.SENT, Status.SENT]


def test_a_kind_with_an_after_send_is_marked_with_it_beside_the_group():
    rows = notices(2)
    message = welcome("allauth:after-send")

    assert sending.send_together([*ids(rows), message.pk]) == 3

    assert statuses([*rows, message]) == [Status.SENT] * 3
    assert Delivery.objects.get(pk=message.pk).facts == {}  # its after_send cleared the text


def test_each_notice_of_a_group_speaks_its_contacts_language():
    english, french = notices(1, language="en") + notices(1, language="fr")

    assert sending.send_together([english.pk, french.pk]) == 2

    subjects = {message.to[0]: message.subject for message in mail.outbox}
    assert subjects[english.address].startswith("A user was linked to the business account")
    assert subjects[french.address].startswith("Un utilisateur a été relié au compte d")


def test_a_row_claimed_again_meanwhile_is_not_marked_by_the_group():
    rows = notices(2)

    # The first row is swept and another worker's claim replaces ours: our mark leaves it be.
    with just_before_the_mark(
        lambda: Delivery.objects.filter(pk=rows[0].pk).update(claimed_at=NOW - MINUTE)
    ) as fired:
        assert sending.send_together(ids(rows)) == 2

    assert fired and statuses(rows) == [Status.SENDING, Status.SENT]
