"""Structured logs: a request id on every line of a request (and in the tasks it enqueues), sent
back as X-Request-ID, and never a password, token or card number in any line, checked by
capturing every record while real flows run through the test client."""

import json
import logging
from typing import Any

import pytest
import structlog
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts import removal_links
from accounts.models import AccountLink
from accounts.rights import Right
from billing.models import PaymentMethod
from portal.celery import app
from portal.logs import REQUEST_ID_HEADER
from portal.redaction import REDACTED
from tests.accounts.delegation_factories import (
    PreRegistrationFactory,
    administrator,
    texted_password,
    with_totp,
)
from tests.accounts.factories import BusinessAccountFactory
from tests.accounts.link_factories import AccountLinkFactory, LinkNoticeFactory
from tests.billing import conftest as billing_fixtures
from tests.billing import fakes
from tests.billing.conftest import GOOD_CARD, browser_setup
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.log_scan import captured_logs
from tests.returns.factories import LabelFactory
from tests.returns.tracking_factories import event_data, signed_headers

pytestmark = pytest.mark.django_db
# The card test's localstripe, as the billing tests start it.
localstripe_base = billing_fixtures.localstripe_base
stripe_api = billing_fixtures.stripe_api


def events(logs) -> list[dict]:
    return [json.loads(line) for line in logs.lines]


# --- request ids ----------------------------------------------------------------------------------


def test_each_request_has_its_own_id_on_its_lines_and_in_its_response(client):
    with captured_logs() as logs:
        first = client.get(reverse("healthz_live"))
        second = client.get(reverse("healthz_live"))

    ids = [first[REQUEST_ID_HEADER], second[REQUEST_ID_HEADER]]
    assert ids[0] != ids[1]
    finished = [e for e in events(logs) if e["event"] == "request_finished"]
    assert [(e["request_id"], e["code"], e["request"]) for e in finished] == [
        (ids[0], 200, "GET /healthz/live"),
        (ids[1], 200, "GET /healthz/live"),
    ]


def test_a_library_s_standard_log_line_carries_the_request_id_too(client):
    with captured_logs() as logs:
        response = client.get("/no-such-page/")

    [not_found] = [e for e in events(logs) if e["logger"] == "django.request"]
    assert not_found["request_id"] == response[REQUEST_ID_HEADER]
    assert not_found["level"] == "warning"


@pytest.mark.django_db(transaction=True)  # the task is enqueued when the request commits
def test_the_tasks_a_request_enqueues_carry_its_request_id(client):
    """django-structlog puts the request's context in the task message's headers; the worker
    step (portal.celery) binds it again when the task runs."""
    user = UserFactory.create()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False  # published to the memory:// broker of the test settings
    with app.connection_for_write() as connection:
        queue = connection.SimpleQueue(app.conf.task_default_queue)
        queue.clear()
        try:
            response = client.post(reverse("account_reset_password"), {"email": user.email})
            message = queue.get(timeout=2)
            headers: dict[str, Any] = message.headers
            message.ack()
        finally:
            app.conf.task_always_eager = eager
            queue.clear()
            queue.close()

    assert headers["task"] == "portal.tasks.send_delivery"
    assert headers["__django_structlog__"]["request_id"] == response[REQUEST_ID_HEADER]
    assert "DjangoStructLogInitStep" in {step.__name__ for step in app.steps["worker"]}


# --- no secret in any line ------------------------------------------------------------------------


def test_structlog_and_standard_lines_are_redacted_before_any_handler():
    with captured_logs() as logs:
        structlog.get_logger("portal.test").info(
            "card_typed", number=GOOD_CARD, password="hunter2-hunter2", nested={"otp": "123456"}
        )
        logging.getLogger("portal.test").warning("saw token=abc123def and %s", "4000000000000002")

    structured, standard = events(logs)
    assert (structured["number"], structured["password"], structured["nested"]) == (
        REDACTED,
        REDACTED,
        {"otp": REDACTED},
    )
    assert standard["event"] == f"saw token={REDACTED} and {REDACTED}"
    assert logs.leaks("hunter2-hunter2", "abc123def") == []


def test_signing_in_with_a_password_logs_no_password(client):
    user = UserFactory.create(email="ana@boreal.example")
    wrong = "Not-the-password-2026"

    with captured_logs() as logs:
        refused = client.post(reverse("account_login"), {"login": user.email, "password": wrong})
        signed_in = client.post(
            reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD}
        )

    assert refused.status_code == 200 and signed_in.status_code == 302
    assert logs.lines, "nothing was captured"
    assert logs.leaks(DEFAULT_PASSWORD, wrong) == []


def test_adding_a_user_who_gets_a_temporary_password_logs_neither_it_nor_the_code(
    client, django_capture_on_commit_callbacks, sms_outbox
):
    account = BusinessAccountFactory.create()
    admin = with_totp(administrator(account).user)
    person = PreRegistrationFactory.create(account=account, email="", mobile_phone="+16135550142")
    client.force_login(admin.user)

    def step(name: str, data: dict | None = None):
        return client.post(reverse(f"accounts:{name}", args=[account.pk]), data or {})

    with captured_logs() as logs:
        step("add_user", {"person": person.pk})
        step("add_details", {"email": "sophie@mapleleaf.example", "language": "en"})
        step("add_rights", {"way": "ACCOUNTANT"})
        confirm = step("add_review")["Location"]
        code = admin.code()
        with django_capture_on_commit_callbacks(execute=True):
            confirmed = client.post(confirm, {"code": code})
        assert sms_outbox, (confirmed.status_code, confirmed.get("Location"), confirm, code)
        [text] = sms_outbox
        temporary = texted_password(text.body)
        client.logout()
        first_sign_in = client.post(
            reverse("account_login"),
            {"login": "sophie@mapleleaf.example", "password": temporary},
        )

    assert confirmed.status_code == 302
    assert AccountLink.objects.filter(method=AccountLink.Method.ADMINISTRATOR).exists()
    assert first_sign_in.status_code == 302
    assert logs.leaks(temporary, f'"{code}"') == []


def test_a_removal_link_visit_logs_no_token(client):
    link = AccountLinkFactory.create()
    notice = LinkNoticeFactory.create(link=link)
    token = removal_links.make_token(notice)

    with captured_logs() as logs:
        shown = client.get(reverse("accounts:removal", args=[token]))
        refused = client.get(reverse("accounts:removal", args=[token[:-4] + "abcd"]))

    assert shown.status_code == 200 and refused.status_code in (200, 404)
    assert any("/removal/" in line for line in logs.lines)
    assert logs.leaks(token, token.split(":")[-1]) == []


def test_adding_a_card_logs_no_card_number_or_setup_secret(client, stripe_api):
    account = BusinessAccountFactory.create()
    manager = AccountLinkFactory.create(account=account, right=Right.MANAGE).user
    client.force_login(manager)
    card_page = reverse("billing:add_card", args=[account.pk])

    with captured_logs() as logs:
        page = client.get(card_page).content.decode()
        secret = page.split('data-client-secret="', 1)[1].split('"', 1)[0]
        setup_id = secret.split("_secret_", 1)[0]
        browser_setup(stripe_api, setup_id, GOOD_CARD)
        saved = client.post(card_page, {"setup_id": setup_id})

    assert saved.status_code == 302
    assert PaymentMethod.objects.filter(account=account).exists()
    assert logs.leaks(GOOD_CARD, secret) == []


def test_a_tracking_post_logs_neither_the_signature_nor_the_secret(settings):
    fakes.install(settings)
    label = LabelFactory.create()
    body = json.dumps({"events": [event_data(label)]}).encode()
    headers = signed_headers(body)

    with captured_logs() as logs:
        response = Client(enforce_csrf_checks=True).post(
            reverse("returns:tracking_events"),
            data=body,
            content_type="application/json",
            headers=headers,
        )

    assert response.status_code == 200
    signature = headers["X-Tracking-Signature"]
    assert logs.leaks(signature, settings.RETURNS_TRACKING_SECRET) == []


def test_the_scan_finds_what_was_not_redacted():
    """The scan itself: a secret that slips through is reported."""
    with captured_logs() as logs:
        structlog.get_logger("portal.test").info("greeting", note="opensesame-1234")

    assert len(logs.leaks("opensesame-1234")) == 1
    assert mail.outbox == []
