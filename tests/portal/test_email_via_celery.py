"""allauth's e-mails are rendered in the request, queued in the outbox ("allauth.message") and
sent by its Celery task after commit: queued on commit, sent once, retried, swept, and the
message's text forgotten once it went (a password-reset e-mail holds a link that sets the
password)."""

import datetime
import re
from smtplib import SMTPServerDisconnected

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from portal import tasks
from portal.models import Delivery
from portal.outbox import kind_for
from tests.callbacks import other_than_fragments
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "Parcel-return-2026!"
CONFIRM_LINK = re.compile(r"http://testserver/accounts/confirm-email/[^/\s]+/")
RESET_LINK = re.compile(r"http://testserver/accounts/password/reset/key/\S+/")
Status = Delivery.Status


def _sign_up(client, email: str = "new.owner@business.example"):
    return client.post(
        reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )


def _reset(client, email: str):
    return client.post(reverse("account_reset_password"), {"email": email})


def allauth_rows():
    return Delivery.objects.filter(kind="allauth.message")


def sweep() -> dict[str, int]:
    return tasks.sweep_outbox.apply().get()


def later(time_machine, delta: datetime.timedelta) -> None:
    time_machine.move_to(timezone.now() + delta, tick=False)


def test_signup_queues_the_confirmation_and_sends_it_after_commit(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _sign_up(client)

    # The row is written with the sign-up; nothing leaves before the transaction commits.
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert mailoutbox == []
    assert len(other_than_fragments(callbacks)) == 1
    [row] = allauth_rows()
    user = get_user_model().objects.get(email="new.owner@business.example")
    assert (row.status, row.address, row.user, row.language) == (
        Status.PENDING,
        "new.owner@business.example",
        user,
        "en",
    )
    assert row.facts["subject"] == "[Business Portal] Confirm your e-mail address"
    assert row.dedupe_key.startswith("allauth.message:")

    other_than_fragments(callbacks)[0]()

    [message] = mailoutbox
    assert message.to == ["new.owner@business.example"]
    assert message.subject == "[Business Portal] Confirm your e-mail address"
    assert CONFIRM_LINK.search(message.body), message.body
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 1)


def test_the_sent_message_is_the_one_rendered_in_the_request_and_then_forgotten(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _sign_up(client)
    rendered = dict(allauth_rows().get().facts)

    other_than_fragments(callbacks)[0]()

    [message] = mailoutbox
    assert message.from_email == "Business Portal <no-reply@portal.example>"
    assert (message.subject, message.body) == (rendered["subject"], rendered["body"])
    # allauth's messages are text only: no empty HTML part.
    assert rendered["html"] == "" and message.alternatives == []
    assert allauth_rows().get().facts == {}  # the confirmation link is not kept


def test_each_message_is_its_own_even_when_allauth_sends_it_twice(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    user = UserFactory.create()

    with django_capture_on_commit_callbacks(execute=True):
        _reset(client, user.email)
        _reset(client, user.email)

    assert allauth_rows().count() == 2
    assert len(mailoutbox) == 2
    assert {row.status for row in allauth_rows()} == {Status.SENT}


def test_confirmation_link_from_the_e_mail_confirms_and_signs_in(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _sign_up(client)
    link = CONFIRM_LINK.search(mailoutbox[0].body)
    assert link is not None
    path = link.group(0).removeprefix("http://testserver")

    assert client.get(path).status_code == 200  # the confirmation page asks to confirm
    response = client.post(path)

    assert response.status_code == 302
    user = get_user_model().objects.get(email="new.owner@business.example")
    assert EmailAddress.objects.get(user=user).verified is True
    assert client.session["_auth_user_id"] == str(user.pk)


def test_confirmation_e_mail_follows_the_language_of_the_request(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    client.post(reverse("set_language"), {"language": "fr", "next": "/"})

    with django_capture_on_commit_callbacks(execute=True):
        _sign_up(client)

    assert len(mailoutbox) == 1
    assert (
        mailoutbox[0].subject == "[Portail d\u2019entreprise] Confirmez votre adresse de courriel"
    )
    assert CONFIRM_LINK.search(mailoutbox[0].body)
    assert allauth_rows().get().language == "fr"


def test_a_reset_e_mail_that_failed_is_retried_once_by_the_sweeper(
    client, mailoutbox, monkeypatch, django_capture_on_commit_callbacks, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    user = UserFactory.create()
    real_send = EmailMultiAlternatives.send
    calls = []

    def flaky_send(message, *args, **kwargs):
        calls.append(message.to)
        if len(calls) == 1:
            raise SMTPServerDisconnected("connection lost")
        return real_send(message, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", flaky_send)

    with django_capture_on_commit_callbacks(execute=True):
        assert _reset(client, user.email).status_code == 302

    row = allauth_rows().get()
    assert (row.status, row.attempts, mailoutbox) == (Status.PENDING, 1, [])
    assert row.last_error == "SMTPServerDisconnected: connection lost"
    assert RESET_LINK.search(row.facts["body"])  # kept for the retry

    time_machine.move_to(row.next_attempt_at, tick=False)
    assert sweep()["enqueued"] == 1
    later(time_machine, datetime.timedelta(hours=1))
    assert sweep()["enqueued"] == 0

    [message] = mailoutbox
    assert RESET_LINK.search(message.body)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.facts) == (Status.SENT, 2, {})


def test_with_the_broker_down_the_request_answers_and_the_sweeper_sends_the_e_mail(
    client, mailoutbox, monkeypatch, django_capture_on_commit_callbacks, settings, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    user = UserFactory.create()

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.send_delivery, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = _reset(client, user.email)

    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    assert mailoutbox == [] and allauth_rows().get().status == Status.PENDING

    monkeypatch.undo()  # the broker is back
    later(time_machine, datetime.timedelta(seconds=settings.PORTAL_OUTBOX_REQUEUE_AFTER + 1))
    assert sweep()["enqueued"] == 1
    later(time_machine, datetime.timedelta(hours=1))
    assert sweep()["enqueued"] == 0

    [message] = mailoutbox
    assert message.to == [user.email]
    assert RESET_LINK.search(message.body)


def test_the_kind_is_registered_and_no_maintenance_holds_it_back():
    kind = kind_for("allauth.message")

    assert (kind.channel, kind.feature, kind.after_send is not None) == ("email", None, True)


def test_the_old_send_email_task_still_delivers_what_the_broker_holds(mailoutbox):
    """Messages queued before the outbox may still be on the broker at the upgrade."""
    result = tasks.send_email.delay(
        subject="Hello", body="Plain", html="<p>Rich</p>", to=["a@business.example"]
    )

    assert result.successful()
    assert len(mailoutbox) == 1
    assert mailoutbox[0].subject == "Hello"
    assert mailoutbox[0].alternatives[0][0] == "<p>Rich</p>"


def test_a_password_change_is_told_by_e_mail(
    client, user, password, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(user)
    new_password = "An-even-longer-passphrase-2026"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_change_password"),
            {"oldpassword": password, "password1": new_password, "password2": new_password},
        )

    assert response.status_code == 302
    [message] = [m for m in mailoutbox if m.to == [user.email]]
    assert "password" in message.subject.lower()
