"""allauth's e-mails are rendered in the request and delivered by the Celery task after commit."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from celery.signals import task_prerun
from django.contrib.auth import get_user_model
from django.urls import reverse

from portal import tasks

pytestmark = pytest.mark.django_db

PASSWORD = "Parcel-return-2026!"
CONFIRM_LINK = re.compile(r"http://testserver/accounts/confirm-email/[^/\s]+/")


@pytest.fixture
def delivered() -> Iterator[list[dict[str, Any]]]:
    """The keyword arguments of every send_email task a worker ran (signals, not a mock)."""
    runs: list[dict[str, Any]] = []

    def record(sender: Any = None, kwargs: dict[str, Any] | None = None, **extra: Any) -> None:
        if sender is not None and sender.name == tasks.send_email.name:
            runs.append(dict(kwargs or {}))

    task_prerun.connect(record, weak=False)
    yield runs
    task_prerun.disconnect(record)


def _sign_up(client, email: str = "new.owner@business.example"):
    return client.post(
        reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )


def test_signup_sends_the_confirmation_through_the_task_after_commit(
    client, mailoutbox, django_capture_on_commit_callbacks, delivered
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _sign_up(client)

    # Nothing leaves before the transaction commits.
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert mailoutbox == []
    assert delivered == []
    assert len(callbacks) == 1

    callbacks[0]()

    assert len(delivered) == 1
    assert delivered[0]["to"] == ["new.owner@business.example"]
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["new.owner@business.example"]
    assert message.subject == "[Business Portal] Confirm your e-mail address"
    assert CONFIRM_LINK.search(message.body), message.body


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


def test_html_alternative_and_sender_survive_the_task(
    client, mailoutbox, django_capture_on_commit_callbacks, delivered
):
    with django_capture_on_commit_callbacks(execute=True):
        _sign_up(client)

    message = mailoutbox[0]
    assert message.from_email == "Business Portal <no-reply@portal.example>"
    html_parts = [content for content, mime in message.alternatives if mime == "text/html"]
    assert delivered[0]["html"] == (html_parts[0] if html_parts else "")
    assert delivered[0]["body"] == message.body


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


def test_send_email_task_delivers_what_it_is_given(mailoutbox):
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
