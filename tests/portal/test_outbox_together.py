"""portal.outbox: rows claimed together (sending.send_together). One claim, one commit and one
mark for the group, each row still sent at most once; a row held by the gate, of a kind gone or
whose message cannot be made sends the group one row at a time, so no row's trouble touches
another's; a provider's refusal fails its row alone. Link notices build their contexts together,
each in its contact's language."""

import contextlib
import dataclasses
import datetime
import logging
from collections.abc import Callable, Iterator

import pytest
from anymail.exceptions import AnymailRecipientsRefused
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts import notifications
from accounts.models import AccountLink, LinkNotice
from outages import gate
from outages.features import Feature
from portal.models import Delivery
from portal.outbox import kind_for, queue_email, register_kind, sending
from tests.accounts.link_factories import LinkNoticeFactory
from tests.outages.factories import closing
from tests.portal.outbox_backends import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_backends", "clock")]
Status = Delivery.Status
MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture(autouse=True)
def kinds_registered_here() -> None:
    """The accounts app's kinds registered again, in the test: as the app's start-up did."""
    notifications.register()


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


@pytest.mark.parametrize(
    ("meanwhile", "then"),
    [(Status.UNKNOWN, Status.SENT), (Status.FAILED, Status.FAILED)],
    ids=["swept to unknown: still marked sent", "failed: stays failed"],
)
def test_a_row_whose_status_moved_meanwhile_is_marked_only_from_sending_or_unknown(meanwhile, then):
    rows = notices(2)

    with just_before_the_mark(
        lambda: Delivery.objects.filter(pk=rows[0].pk).update(status=meanwhile)
    ) as fired:
        assert sending.send_together(ids(rows)) == 2

    assert fired and statuses(rows) == [then, Status.SENT]


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


def test_a_group_reads_its_own_notices_only():
    rows = notices(2)
    LinkNoticeFactory.create_batch(3)  # other contacts' notices, sent long ago

    with CaptureQueriesContext(connection) as queries:
        assert sending.send_together(ids(rows)) == 2

    [read] = [q["sql"] for q in queries if q["sql"].startswith('SELECT "accounts_linknotice"')]
    assert '"accounts_linknotice"."id" IN' in read


def test_a_notice_sent_alone_is_stamped_and_says_what_one_sent_in_a_group_says():
    alone, grouped = notices(2)

    assert sending.send(alone.pk) is True
    assert sending.send_together([grouped.pk]) == 1

    for row, message in zip([alone, grouped], mail.outbox, strict=True):
        notice = LinkNotice.objects.get(pk=row.facts["notice_id"])
        assert notice.sent_at == NOW
        assert message.body.startswith(f"Hello {notice.name},")
        assert "/business/removal/" in message.body


def test_a_row_claimed_at_the_same_moment_by_another_group_is_left_to_it():
    rows = notices(2)
    other = notices(1)[0]
    Delivery.objects.filter(pk=other.pk).update(status=Status.SENDING, claimed_at=NOW)

    assert sending.send_together(ids(rows)) == 2

    assert statuses([*rows, other]) == [Status.SENT, Status.SENT, Status.SENDING]


def test_a_kind_without_group_contexts_builds_each_in_its_recipients_language():
    from tests.accounts.link_factories import AccountLinkFactory
    from tests.factories import UserFactory

    rows = []
    for language in ("fr", "en"):
        link = AccountLinkFactory.create(user=UserFactory.create(language=language))
        AccountLink.objects.filter(pk=link.pk).update(
            status=AccountLink.Status.REMOVED, removed_at=NOW
        )
        rows.append(notifications.queue_link_removed(AccountLink.objects.get(pk=link.pk)))

    assert sending.send_together(ids(rows)) == 2

    french, english = (message.body for message in mail.outbox)
    assert "depuis le 10 mars, 11 h (HE)" in french and "March" not in french
    assert "March 10" in english


@pytest.fixture
def finishing_and_gated_by_facts() -> Iterator[list[str]]:
    """allauth's message kind finishing each e-mail (it notes the language then active) and
    gated on the capability its row's facts name."""
    original = kind_for("allauth.message")
    languages: list[str] = []
    register_kind(
        dataclasses.replace(
            original,
            feature=lambda delivery: delivery.facts.get("feature"),
            finish_email=lambda *_: languages.append(translation.get_language()),
        )
    )
    yield languages
    register_kind(original)


def test_a_group_is_finished_in_each_recipients_language_and_asks_the_gate_of_each_row(
    finishing_and_gated_by_facts, caplog
):
    rows = [
        queue_email(
            kind="allauth.message",
            to=f"person{n}@business.example",
            language=language,
            facts={"subject": "Hi", "body": "Hello.", "html": "", "feature": "registration"},
            dedupe_key=f"allauth:group:{n}",
        )
        for n, language in enumerate(["fr", "en"])
    ]

    with caplog.at_level(logging.INFO, logger="portal.outbox.sending"):
        assert sending.send_together(ids(rows)) == 2

    assert finishing_and_gated_by_facts == ["fr", "en"]
    assert "one by one" not in caplog.text  # the group went as a group


def test_a_group_sent_one_by_one_says_so_in_the_log(linking_closed, caplog):
    rows = notices(2)

    with caplog.at_level(logging.INFO, logger="portal.outbox.sending"):
        assert sending.send_together(ids(rows)) == 0

    assert [record.getMessage() for record in caplog.records] == [
        "outbox: 2 rows sent one by one (_Held(Feature.ACCOUNT_LINKING))"
    ]
