"""The link notice e-mails: who gets them, what they say, and that each goes out exactly once."""

import datetime
import re
from smtplib import SMTPServerDisconnected

import pytest
from celery import current_app
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from accounts import services, tasks
from accounts.models import AccountLink, BusinessAccount, Contact, LinkNotice
from outages.models import PostponedTask
from tests.accounts.conftest import CUSTOMER_NUMBER, POSTAL_CODE
from tests.accounts.factories import BusinessAccountFactory, ContactFactory
from tests.accounts.link_factories import AccountLinkFactory, LinkNoticeFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
IP = "203.0.113.7"


@pytest.fixture
def linked(linkable, django_capture_on_commit_callbacks):
    """A user linked to the commercial account, with the e-mails sent after commit."""
    user = UserFactory.create(first_name="Ada", last_name="Lovelace", email="ada@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        link = services.link_account(user=user, ip=IP, **linkable.proofs)
    return link


def pending_notice(**kwargs):
    return LinkNoticeFactory.create(status=LinkNotice.Status.PENDING, sent_at=None, **kwargs)


def by_recipient(outbox):
    return {message.to[0]: message for message in outbox}


def removal_url_in(text: str) -> str:
    found = re.search(r"http://\S+/business/removal/\S+/", text)
    assert found, "no removal link in the e-mail"
    return found.group(0)


def test_commercial_account_tells_every_primary_and_billing_contact(linked, mailoutbox):
    assert sorted(by_recipient(mailoutbox)) == [
        "claire@mapleleaf.example",
        "owen@mapleleaf.example",
    ]
    assert set(linked.notices.values_list("status", flat=True)) == {LinkNotice.Status.SENT}


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


def test_running_the_task_twice_sends_one_email(mailoutbox):
    notice = pending_notice()

    tasks.send_link_notice.delay(notice_id=notice.pk)
    tasks.send_link_notice.delay(notice_id=notice.pk)  # a redelivered message

    assert len(mailoutbox) == 1
    notice.refresh_from_db()
    assert notice.status == LinkNotice.Status.SENT
    assert notice.sent_at is not None


def test_a_task_for_an_already_sent_notice_sends_nothing(mailoutbox):
    notice = LinkNoticeFactory.create(status=LinkNotice.Status.SENT)

    assert tasks.send_link_notice.apply(kwargs={"notice_id": notice.pk}).get() is False
    assert mailoutbox == []


@pytest.fixture
def eager_retries():
    """Eager Celery re-runs a retried task in place only when it does not propagate errors."""
    conf = current_app.conf
    propagates = conf.task_eager_propagates
    conf.task_eager_propagates = False
    yield
    conf.task_eager_propagates = propagates


def test_a_retry_after_a_mail_server_error_sends_once(mailoutbox, monkeypatch, eager_retries):
    notice = pending_notice()
    real_send = EmailMultiAlternatives.send
    calls = []

    def flaky_send(message, *args, **kwargs):
        calls.append(message.to)
        if len(calls) == 1:
            raise SMTPServerDisconnected("connection lost")
        return real_send(message, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", flaky_send)

    tasks.send_link_notice.delay(notice_id=notice.pk)

    assert len(calls) == 2
    assert len(mailoutbox) == 1
    notice.refresh_from_db()
    assert notice.status == LinkNotice.Status.SENT
    assert notice.attempts == 2
    assert "SMTPServerDisconnected" in notice.last_error


def test_after_the_last_retry_the_notice_is_failed_and_never_resent(
    mailoutbox, monkeypatch, eager_retries
):
    notice = pending_notice()

    def down(message, *args, **kwargs):
        raise SMTPServerDisconnected("down")

    monkeypatch.setattr(EmailMultiAlternatives, "send", down)

    result = tasks.send_link_notice.delay(notice_id=notice.pk)

    assert isinstance(result.result, SMTPServerDisconnected)

    notice.refresh_from_db()
    assert notice.status == LinkNotice.Status.FAILED
    assert notice.attempts == tasks.MAX_RETRIES + 1
    LinkNotice.objects.filter(pk=notice.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=1)
    )
    monkeypatch.setattr(EmailMultiAlternatives, "send", lambda *a, **k: pytest.fail("resent"))
    assert tasks.requeue_lost_link_emails() == 0
    assert mailoutbox == []


def test_the_sweeper_sends_what_a_lost_enqueue_left_pending(
    linkable, user, mailoutbox, django_capture_on_commit_callbacks
):
    # The broker was down: the after-commit enqueue never happened.
    with django_capture_on_commit_callbacks(execute=False):
        link = services.link_account(user=user, ip=IP, **linkable.proofs)
    link.notices.update(created_at=timezone.now() - datetime.timedelta(minutes=6))

    assert tasks.requeue_lost_link_emails() == 2

    assert len(mailoutbox) == 2
    assert set(link.notices.values_list("status", flat=True)) == {LinkNotice.Status.SENT}
    assert tasks.requeue_lost_link_emails() == 0  # and nothing a second time


def test_the_sweeper_leaves_notices_that_are_only_seconds_old(mailoutbox):
    pending_notice()

    assert tasks.requeue_lost_link_emails() == 0
    assert mailoutbox == []


def test_the_beat_schedule_runs_the_sweeper(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["accounts-requeue-lost-link-emails"]

    assert schedule["task"] == tasks.requeue_lost_link_emails.name
    assert schedule["schedule"] <= settings.PORTAL_LINK_EMAIL_REQUEUE_AFTER


def test_while_linking_is_closed_the_task_is_postponed_and_the_sweeper_waits(
    mailoutbox, close_feature
):
    notice = pending_notice(created_at=timezone.now() - datetime.timedelta(hours=1))
    close_feature("account_linking")

    tasks.send_link_notice.delay(notice_id=notice.pk)

    assert mailoutbox == []
    postponed = PostponedTask.objects.get()
    assert postponed.task_name == "accounts.tasks.send_link_notice"
    assert postponed.kwargs == {"notice_id": notice.pk}
    assert tasks.requeue_lost_link_emails() == 0
    assert PostponedTask.objects.count() == 1


def test_the_removed_user_is_told_once_in_their_language(mailoutbox):
    user = UserFactory.create(language="fr", first_name="Léa", last_name="Roy")
    link = AccountLinkFactory.create(
        user=user,
        status=AccountLink.Status.REMOVED,
        removed_at=timezone.now(),
        removed_via=AccountLink.RemovedVia.CONTACT_LINK,
    )

    tasks.send_link_removed_email.delay(link_id=link.pk)
    tasks.send_link_removed_email.delay(link_id=link.pk)

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [user.email]
    assert "Léa Roy" in message.body
    assert "(HE)" in message.body
    assert message.alternatives[0][1] == "text/html"
    link.refresh_from_db()
    assert link.removal_notified_at is not None


def test_the_sweeper_tells_a_removed_user_whose_email_was_lost(mailoutbox):
    link = AccountLinkFactory.create(
        status=AccountLink.Status.REMOVED,
        removed_at=timezone.now() - datetime.timedelta(minutes=10),
        removed_via=AccountLink.RemovedVia.STAFF,
    )
    AccountLinkFactory.create(  # users who removed themselves are not e-mailed
        status=AccountLink.Status.REMOVED,
        removed_at=timezone.now() - datetime.timedelta(minutes=10),
        removed_via=AccountLink.RemovedVia.SELF,
    )

    assert tasks.requeue_lost_link_emails() == 1
    assert [m.to for m in mailoutbox] == [[link.user.email]]
