"""The link e-mails through the outbox: who gets them, what they say, and that each goes out
exactly once — queued on commit, sent once, retried, swept — and the removed user's e-mail."""

import datetime
import re
from smtplib import SMTPServerDisconnected

import pytest
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from accounts import notifications, services
from accounts.models import AccountLink, BusinessAccount, Contact, LinkNotice
from outages.models import PostponedTask
from portal import tasks
from portal.models import Delivery
from tests.accounts.conftest import CUSTOMER_NUMBER, POSTAL_CODE
from tests.accounts.factories import BusinessAccountFactory, ContactFactory
from tests.accounts.link_factories import AccountLinkFactory, LinkNoticeFactory
from tests.callbacks import other_than_fragments
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
IP = "203.0.113.7"
Status = Delivery.Status


@pytest.fixture
def linked(linkable, django_capture_on_commit_callbacks):
    """A user linked to the commercial account, with the e-mails sent after commit."""
    user = UserFactory.create(first_name="Ada", last_name="Lovelace", email="ada@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        link = services.link_account(user=user, ip=IP, **linkable.proofs)
    return link


def pending_notice(**kwargs) -> tuple[LinkNotice, Delivery]:
    """A notice not yet e-mailed, with its outbox row (whose enqueue never ran)."""
    notice = LinkNoticeFactory.create(sent_at=None, **kwargs)
    return notice, notifications.queue_link_notice(notice)


def deliveries(kind: str = notifications.LINK_NOTICE):
    return Delivery.objects.filter(kind=kind)


def send(delivery: Delivery) -> bool:
    """What a worker does with the task the outbox enqueues."""
    return tasks.send_delivery.apply(args=(delivery.pk,)).get()


def sweep() -> dict[str, int]:
    return tasks.sweep_outbox.apply().get()


def later(time_machine, delta: datetime.timedelta) -> None:
    time_machine.move_to(timezone.now() + delta, tick=False)


def by_recipient(outbox):
    return {message.to[0]: message for message in outbox}


def removal_url_in(text: str) -> str:
    found = re.search(r"http://\S+/business/removal/\S+/", text)
    assert found, "no removal link in the e-mail"
    return found.group(0)


# --- who is told, and what they read ------------------------------------------------------------


def test_commercial_account_tells_every_primary_and_billing_contact(linked, mailoutbox):
    assert sorted(by_recipient(mailoutbox)) == [
        "claire@mapleleaf.example",
        "owen@mapleleaf.example",
    ]
    rows = {row.dedupe_key: row for row in deliveries()}
    assert sorted(rows) == sorted(
        f"accounts.link_notice:{pk}" for pk in linked.notices.values_list("pk", flat=True)
    )
    assert {(row.status, row.attempts, row.account_id) for row in rows.values()} == {
        (Status.SENT, 1, linked.account_id)
    }
    assert None not in set(linked.notices.values_list("sent_at", flat=True))


@pytest.mark.parametrize(
    "kind, expected",
    [
        (BusinessAccount.Kind.COMMERCIAL, ["billing@x.example", "primary@x.example"]),
        (BusinessAccount.Kind.SMALL_BUSINESS, ["primary@x.example"]),
    ],
)
def test_recipients_by_account_kind(
    db, user, mailoutbox, django_capture_on_commit_callbacks, kind, expected
):
    account = BusinessAccountFactory.create(
        customer_number=CUSTOMER_NUMBER, postal_code=POSTAL_CODE, kind=kind
    )
    ContactFactory.create(account=account, role=Contact.Role.PRIMARY, email="primary@x.example")
    ContactFactory.create(account=account, role=Contact.Role.BILLING, email="billing@x.example")

    with django_capture_on_commit_callbacks(execute=True):
        services.link_account(
            user=user, ip=IP, customer_number=CUSTOMER_NUMBER, postal_code=POSTAL_CODE
        )

    assert sorted(m.to[0] for m in mailoutbox) == expected


def test_a_person_who_is_primary_and_billing_gets_one_email(
    db, user, mailoutbox, django_capture_on_commit_callbacks
):
    account = BusinessAccountFactory.create(
        customer_number=CUSTOMER_NUMBER, postal_code=POSTAL_CODE
    )
    for role in (Contact.Role.PRIMARY, Contact.Role.BILLING):
        ContactFactory.create(
            account=account, role=role, email="julien@boreal.example", name="Julien"
        )

    with django_capture_on_commit_callbacks(execute=True):
        services.link_account(
            user=user, ip=IP, customer_number=CUSTOMER_NUMBER, postal_code=POSTAL_CODE
        )

    assert [m.to for m in mailoutbox] == [["julien@boreal.example"]]


def test_the_email_names_who_linked_the_account_and_when_in_eastern_time(
    linked, mailoutbox, settings
):
    message = by_recipient(mailoutbox)["owen@mapleleaf.example"]

    assert message.subject == (
        "A user was linked to the business account Maple Leaf Outfitters Inc."
    )
    body = message.body
    assert "Hello Owen Fraser," in body
    assert "Ada Lovelace (ada@example.org)" in body
    assert "Maple Leaf Outfitters Inc. (customer number 0001234567)" in body
    assert "(ET)" in body
    assert "valid for 30 days" in body
    assert settings.PORTAL_HELP_DESK_PHONE in body
    assert "cannot be sent again" in body
    assert removal_url_in(body).startswith(settings.PORTAL_BASE_URL)


def test_the_email_has_an_html_part_with_the_same_removal_link(linked, mailoutbox):
    message = by_recipient(mailoutbox)["owen@mapleleaf.example"]
    html, mime = message.alternatives[0]
    removal = removal_url_in(message.body)

    assert mime == "text/html"
    assert f'href="{removal}"' in html
    assert "Ada Lovelace" in html
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"


def test_each_contact_reads_it_in_their_language(linked, mailoutbox):
    french = by_recipient(mailoutbox)["claire@mapleleaf.example"]
    english = by_recipient(mailoutbox)["owen@mapleleaf.example"]

    # Rendered with French active: the time in words with the French zone label, and the
    # HTML part declares its language.
    assert "(HE)" in french.body
    assert "(ET)" not in french.body
    assert '<html lang="fr-CA">' in french.alternatives[0][0]
    assert '<html lang="en-CA">' in english.alternatives[0][0]


def test_each_removal_link_is_bound_to_its_own_recipient(linked, mailoutbox):
    links = {to: removal_url_in(m.body) for to, m in by_recipient(mailoutbox).items()}

    assert len(set(links.values())) == 2


# --- queued on commit, sent once ----------------------------------------------------------------


def test_the_notices_are_queued_in_the_linking_transaction_and_sent_after_commit(
    linkable, user, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        link = services.link_account(user=user, ip=IP, **linkable.proofs)

    assert mailoutbox == [] and len(other_than_fragments(callbacks)) == 1  # one batch of two
    assert {row.status for row in deliveries()} == {Status.PENDING}
    assert set(link.notices.values_list("sent_at", flat=True)) == {None}  # no link works yet

    for callback in callbacks:
        callback()

    assert len(mailoutbox) == 2
    assert {row.status for row in deliveries()} == {Status.SENT}


def test_running_the_task_twice_sends_one_email(mailoutbox):
    notice, delivery = pending_notice()

    assert send(delivery) is True
    assert send(delivery) is False  # a redelivered message

    assert len(mailoutbox) == 1
    notice.refresh_from_db()
    delivery.refresh_from_db()
    assert delivery.status == Status.SENT
    assert notice.sent_at is not None


def test_queuing_the_same_notice_again_makes_no_second_email(mailoutbox):
    notice, delivery = pending_notice()

    assert notifications.queue_link_notice(notice).pk == delivery.pk
    assert deliveries().count() == 1


# --- retried ------------------------------------------------------------------------------------


def test_a_retry_after_a_mail_server_error_sends_once_and_states_the_new_expiry(
    mailoutbox, monkeypatch, time_machine
):
    time_machine.move_to(datetime.datetime(2031, 3, 10, 13, 30, tzinfo=datetime.UTC), tick=False)
    notice, delivery = pending_notice()
    real_send = EmailMultiAlternatives.send
    calls = []

    def flaky_send(message, *args, **kwargs):
        calls.append(message.to)
        if len(calls) == 1:
            raise SMTPServerDisconnected("connection lost")
        return real_send(message, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", flaky_send)

    assert send(delivery) is False
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.PENDING, 1)
    assert "SMTPServerDisconnected" in delivery.last_error
    assert sweep()["enqueued"] == 0  # its retry is not due yet: the sweeper leaves it alone

    time_machine.move_to(delivery.next_attempt_at, tick=False)
    assert sweep()["enqueued"] == 1

    assert len(calls) == 2 and len(mailoutbox) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SENT, 2)
    notice.refresh_from_db()
    # The e-mail that went states the validity the token has: 30 days from this send.
    assert notice.sent_at == delivery.next_attempt_at
    assert "valid for 30 days, until April 9, 9:31 a.m. (ET)." in mailoutbox[0].body


def test_after_the_last_attempt_the_notice_is_failed_and_never_resent(
    mailoutbox, monkeypatch, settings, time_machine
):
    settings.PORTAL_OUTBOX_MAX_ATTEMPTS = 2
    _notice, delivery = pending_notice()

    def down(message, *args, **kwargs):
        raise SMTPServerDisconnected("down")

    monkeypatch.setattr(EmailMultiAlternatives, "send", down)
    send(delivery)
    delivery.refresh_from_db()
    time_machine.move_to(delivery.next_attempt_at, tick=False)
    assert sweep()["enqueued"] == 1

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.FAILED, 2)
    monkeypatch.setattr(EmailMultiAlternatives, "send", lambda *a, **k: pytest.fail("resent"))
    later(time_machine, datetime.timedelta(hours=2))
    assert sweep()["enqueued"] == 0
    assert send(delivery) is False
    assert mailoutbox == []


# --- swept --------------------------------------------------------------------------------------


def test_the_sweeper_sends_what_a_lost_enqueue_left_pending(
    linkable, user, mailoutbox, django_capture_on_commit_callbacks, settings, time_machine
):
    # The broker was down: the after-commit enqueue never reached a worker.
    with django_capture_on_commit_callbacks(execute=False):
        link = services.link_account(user=user, ip=IP, **linkable.proofs)
    assert sweep()["enqueued"] == 0  # just handed over: perhaps still on its way

    later(time_machine, datetime.timedelta(seconds=settings.PORTAL_OUTBOX_REQUEUE_AFTER + 1))
    assert sweep()["enqueued"] == 2

    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        link.notices.values_list("email", flat=True)
    )
    assert {row.status for row in deliveries()} == {Status.SENT}
    later(time_machine, datetime.timedelta(hours=1))
    assert sweep()["enqueued"] == 0  # and nothing a second time
    assert len(mailoutbox) == 2


def test_the_beat_schedule_runs_the_sweeper(settings):
    jobs = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert jobs[tasks.sweep_outbox.name] <= settings.PORTAL_OUTBOX_REQUEUE_AFTER
    assert "accounts.tasks.requeue_lost_link_emails" not in jobs


def test_while_linking_is_closed_the_notice_waits_and_goes_when_it_reopens(
    mailoutbox, close_feature, time_machine
):
    notice, delivery = pending_notice()
    interruption = close_feature("account_linking")

    assert send(delivery) is False

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.held_for) == (
        Status.PENDING,
        0,
        "account_linking",
    )
    assert mailoutbox == [] and not PostponedTask.objects.exists()
    later(time_machine, datetime.timedelta(hours=1))
    assert sweep()["enqueued"] == 0  # still closed

    time_machine.move_to(interruption.ends_at, tick=False)
    assert sweep()["enqueued"] == 1
    assert [m.to for m in mailoutbox] == [[notice.email]]


# --- the removed user ---------------------------------------------------------------------------


def test_the_removed_user_is_told_once_in_their_language(mailoutbox):
    user = UserFactory.create(language="fr", first_name="Léa", last_name="Roy")
    link = AccountLinkFactory.create(
        user=user,
        status=AccountLink.Status.REMOVED,
        removed_at=timezone.now(),
        removed_via=AccountLink.RemovedVia.CONTACT_LINK,
    )
    delivery = notifications.queue_link_removed(link)

    assert send(delivery) is True
    assert send(delivery) is False
    assert notifications.queue_link_removed(link).pk == delivery.pk

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [user.email]
    assert "Léa Roy" in message.body
    assert "(HE)" in message.body
    assert message.alternatives[0][1] == "text/html"
    delivery.refresh_from_db()
    assert (delivery.dedupe_key, delivery.user, delivery.language, delivery.status) == (
        f"accounts.link_removed:{link.pk}",
        user,
        "fr",
        Status.SENT,
    )


def test_staff_removal_tells_the_user_through_the_sweeper_when_the_enqueue_was_lost(
    staff_user, mailoutbox, django_capture_on_commit_callbacks, settings, time_machine
):
    link = AccountLinkFactory.create()
    other = AccountLinkFactory.create(account=link.account)
    with django_capture_on_commit_callbacks(execute=False):
        services.remove_links_by_staff(actor=staff_user, link_ids=[link.pk], ip=IP)
    services.remove_own_link(user=other.user, account=other.account, ip=IP)  # not e-mailed

    later(time_machine, datetime.timedelta(seconds=settings.PORTAL_OUTBOX_REQUEUE_AFTER + 1))
    assert sweep()["enqueued"] == 1

    assert [m.to for m in mailoutbox] == [[link.user.email]]
    assert "Support staff removed your access." in mailoutbox[0].body
    assert deliveries(notifications.LINK_REMOVED).get().status == Status.SENT


def test_while_link_removal_is_closed_the_removed_user_waits(mailoutbox, close_feature):
    link = AccountLinkFactory.create(
        status=AccountLink.Status.REMOVED,
        removed_at=timezone.now(),
        removed_via=AccountLink.RemovedVia.STAFF,
    )
    delivery = notifications.queue_link_removed(link)
    close_feature("link_removal")

    assert send(delivery) is False

    delivery.refresh_from_db()
    assert (delivery.status, delivery.held_for) == (Status.PENDING, "link_removal")
    assert mailoutbox == []


def test_an_active_link_is_never_told_it_was_removed(mailoutbox):
    delivery = notifications.queue_link_removed(AccountLinkFactory.create())

    assert send(delivery) is False

    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED
    assert mailoutbox == []


def test_a_notice_whose_link_was_deleted_fails_for_good(mailoutbox):
    notice, delivery = pending_notice()
    notice.link.delete()  # the link and its notices go; the outbox row stays for staff

    assert send(delivery) is False

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.FAILED, 1)
    assert delivery.last_error == "Undeliverable: The link notice no longer exists."
    assert mailoutbox == []
