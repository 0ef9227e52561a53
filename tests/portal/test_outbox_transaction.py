"""portal.outbox: the claim and the kind's context commit together before the message goes. A
message that cannot be made rolls back the claim and what the context wrote, and one try is
counted on its row alone (no longer held), whatever the cause; a worker that tried the row
meanwhile keeps its record. The mark and after_send share a transaction. A link notice costs
the outbox two statements on its row and one read of what the e-mail shows."""

import dataclasses
import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import notifications
from outages import gate
from portal.models import Delivery
from portal.outbox import MessageKind, kind_for, queue_email, register_kind, sending
from tests.accounts.link_factories import LinkNoticeFactory
from tests.outages.factories import closing
from tests.portal.outbox_backends import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_backends")]
Status = Delivery.Status
MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def unrenderable() -> Iterator[MessageKind]:
    """The link notice's kind pointing at templates that do not exist: its context runs (and
    stamps the notice sent) and then the rendering fails. Yields the real kind."""
    original = kind_for(notifications.LINK_NOTICE)
    register_kind(dataclasses.replace(original, template_prefix="accounts/email/nowhere"))
    yield original
    register_kind(original)


def pending_notice() -> tuple[Any, Delivery]:
    notice = LinkNoticeFactory.create(sent_at=None)
    return notice, notifications.queue_link_notice(notice)


def row(delivery: Delivery) -> Delivery:
    return Delivery.objects.get(pk=delivery.pk)


def test_a_message_that_cannot_be_rendered_leaves_no_write_of_its_context_and_one_try(
    unrenderable, clock
):
    notice, delivery = pending_notice()
    _other_notice, other = pending_notice()

    assert sending.send(delivery.pk) is False

    notice.refresh_from_db()
    assert notice.sent_at is None  # the stamp went with the rolled-back transaction
    failed = row(delivery)
    assert (failed.status, failed.attempts, failed.claimed_at, failed.enqueued_at) == (
        Status.PENDING,
        1,
        NOW,
        None,
    )
    assert failed.last_error.startswith("TemplateDoesNotExist: accounts/email/nowhere")
    assert failed.next_attempt_at == NOW + MINUTE
    assert mail.outbox == []
    untouched = row(other)  # another row waiting with as many tries
    assert (untouched.status, untouched.attempts, untouched.last_error) == (Status.PENDING, 0, "")


def test_the_next_try_after_a_message_that_could_not_be_made_sends_it_and_counts_two(
    unrenderable, clock
):
    notice, delivery = pending_notice()
    sending.send(delivery.pk)
    register_kind(unrenderable)  # the templates are back
    clock.shift(MINUTE)

    assert sending.send(delivery.pk) is True

    notice.refresh_from_db()
    assert (row(delivery).status, row(delivery).attempts) == (Status.SENT, 2)
    assert notice.sent_at == NOW + MINUTE and len(mail.outbox) == 1


def test_the_last_try_of_a_message_that_cannot_be_made_fails_the_row(unrenderable, clock, settings):
    _notice, delivery = pending_notice()
    Delivery.objects.filter(pk=delivery.pk).update(attempts=settings.PORTAL_OUTBOX_MAX_ATTEMPTS - 1)

    assert sending.send(delivery.pk) is False

    assert (row(delivery).status, row(delivery).attempts) == (
        Status.FAILED,
        settings.PORTAL_OUTBOX_MAX_ATTEMPTS,
    )


def test_a_worker_that_tried_the_row_meanwhile_keeps_its_record(unrenderable, clock):
    _notice, delivery = pending_notice()
    second: list[bool] = []

    def second_worker_first(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        # Between the rolled-back transaction and the record of its failure (the one statement
        # writing last_error), another worker tries the row a minute later and fails as well.
        if not second and '"last_error"' in sql:
            second.append(True)
            clock.shift(MINUTE)
            second.append(sending.send(delivery.pk))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(second_worker_first):
        assert sending.send(delivery.pk) is False

    assert second == [True, False]
    kept = row(delivery)
    assert (kept.status, kept.attempts, kept.claimed_at) == (Status.PENDING, 1, NOW + MINUTE)
    assert kept.next_attempt_at == NOW + 2 * MINUTE


def test_a_held_row_whose_message_then_cannot_be_made_is_no_longer_marked_held(unrenderable, clock):
    _notice, delivery = pending_notice()
    interruption = closing("account_linking")
    cache.clear()
    gate.forget_process_copy()
    assert sending.send(delivery.pk) is False
    assert row(delivery).held_for == "account_linking"
    clock.move_to(interruption.ends_at + MINUTE)  # the closure ended as planned
    gate.forget_process_copy()

    assert sending.send(delivery.pk) is False

    failed = row(delivery)
    assert (failed.held_for, failed.attempts) == ("", 1)
    assert failed.last_error.startswith("TemplateDoesNotExist")


def test_after_send_runs_with_its_row_already_marked_sent(clock):
    original = kind_for("allauth.message")
    seen: list[tuple[str, Any]] = []

    def look(delivery: Delivery) -> None:
        seen.append(Delivery.objects.values_list("status", "sent_at").get(pk=delivery.pk))

    register_kind(dataclasses.replace(original, after_send=look))
    try:
        delivery = queue_email(
            kind="allauth.message",
            to="sophie@mapleleaf.example",
            language="en",
            facts={"subject": "Welcome", "body": "Hello.", "html": ""},
            dedupe_key="allauth:after-send",
        )
        assert sending.send(delivery.pk) is True
    finally:
        register_kind(original)

    assert seen == [(Status.SENT, NOW)]
    assert (row(delivery).status, row(delivery).sent_at, row(delivery).last_error) == (
        Status.SENT,
        NOW,
        "",
    )


def test_a_link_notice_costs_two_statements_on_its_row_and_one_read_of_what_it_shows(clock):
    notice, delivery = pending_notice()

    with CaptureQueriesContext(connection) as captured:
        assert sending.send(delivery.pk) is True

    statements = [query["sql"] for query in captured.captured_queries]
    on_the_row = [sql for sql in statements if '"portal_delivery"' in sql]
    assert [sql.split()[0] for sql in on_the_row] == ["UPDATE", "UPDATE"]  # claim, mark
    reads = [sql for sql in statements if sql.startswith("SELECT") and "accounts_user" in sql]
    assert len(reads) == 1 and "accounts_businessaccount" in reads[0]
    notice.refresh_from_db()
    assert notice.sent_at == NOW
