"""The delegated-users messages on the outbox, end to end through accounts' services: each kind
queued on commit and sent once; the temporary password texted is the one that works, even when
the worker dies after the provider took the text; with the broker down at commit the service
answers and the sweeper sends later; a request's e-mails follow its action's feature."""

import datetime
from typing import Any

import kombu.exceptions
import pytest
from django.core import mail
from django.core.cache import cache
from django.utils import timezone

from accounts import actions, services
from accounts.models import User
from accounts.rights import Right
from accounts.rightsets import RightSet
from outages import gate
from portal import tasks
from portal.models import Delivery
from portal.outbox import queue_email, sending
from tests.accounts.delegation_factories import (
    PreRegistrationFactory,
    administrator,
    texted_password,
)
from tests.accounts.factories import BusinessAccountFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.outages.factories import closing
from tests.portal.outbox_backends import EchoingProviderError, WorkerKilled

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_backends")]
Status = Delivery.Status


@pytest.fixture
def account() -> Any:
    return BusinessAccountFactory.create(legal_name="Maple Leaf Outfitters Inc.")


@pytest.fixture
def admin(account: Any) -> Any:
    return administrator(account, first_name="Claire", last_name="Tremblay").user


def add_user(admin: Any, account: Any, **person: Any) -> Any:
    pre = PreRegistrationFactory.create(
        account=account, mobile_phone="+16135550142", email="sophie@mapleleaf.example", **person
    )
    return services.add_user(
        actor=admin,
        account=account,
        pre_registration_id=pre.pk,
        email=pre.email,
        chosen=RightSet({None: Right.MANAGE}),
        ip=None,
    )


# --- every kind, queued on commit and sent once -------------------------------------------------


def test_each_delegated_users_message_goes_once_after_commit(
    admin, account, django_capture_on_commit_callbacks, sms_outbox
):
    with django_capture_on_commit_callbacks(execute=True):
        link = add_user(admin, account)
        services.change_rights(
            actor=admin,
            account=account,
            link_id=link.pk,
            chosen=RightSet({None: Right.CONSULT}),
            ip=None,
        )
        services.remove_user(actor=admin, account=account, link_id=link.pk, ip=None)
    preparer = administrator(account, level=Right.MANAGE).user
    target = AccountLinkFactory.create(account=account)
    with django_capture_on_commit_callbacks(execute=True):
        request = services.prepare_request(
            actor=preparer,
            account=account,
            kind=actions.REMOVE_USER,
            payload=actions.remove_user_payload(link=target),
            ip=None,
        )
        services.reject_request(
            actor=admin, account=account, request_id=request.pk, reason="Not now", ip=None
        )

    kinds = sorted(Delivery.objects.values_list("kind", "status"))
    assert kinds == [
        ("accounts.rights_changed", Status.SENT),
        ("accounts.temporary_password", Status.SENT),
        ("accounts.user_removed", Status.SENT),
        ("accounts.validation_decided", Status.SENT),
        ("accounts.validation_requested", Status.SENT),
        ("accounts.welcome", Status.SENT),
    ]
    assert len(mail.outbox) == 5 and len(sms_outbox) == 1
    assert set(Delivery.objects.values_list("account_id", flat=True)) == {account.pk}
    # Another run of every task (redelivered, or the sweeper) sends nothing more.
    for delivery_id in Delivery.objects.values_list("pk", flat=True):
        assert tasks.send_delivery.apply(args=(delivery_id,)).get() is False
    assert len(mail.outbox) == 5 and len(sms_outbox) == 1


def test_each_rights_change_is_told_once_per_change(
    admin, account, django_capture_on_commit_callbacks
):
    link = AccountLinkFactory.create(account=account)
    with django_capture_on_commit_callbacks(execute=True):
        for level in (Right.CONSULT, Right.MANAGE):
            services.change_rights(
                actor=admin,
                account=account,
                link_id=link.pk,
                chosen=RightSet({None: level}),
                ip=None,
            )

    assert Delivery.objects.filter(kind="accounts.rights_changed").count() == 2
    assert len(mail.outbox) == 2


def test_the_existing_profile_is_told_in_its_own_language(
    admin, account, django_capture_on_commit_callbacks
):
    from tests.factories import UserFactory

    UserFactory.create(email="sophie@mapleleaf.example", language="fr")
    with django_capture_on_commit_callbacks(execute=True):
        add_user(admin, account)

    [message] = mail.outbox
    assert Delivery.objects.get().kind == "accounts.access_granted"
    assert message.subject == "Vous agissez maintenant pour Maple Leaf Outfitters Inc."


# --- the temporary password ---------------------------------------------------------------------


def test_the_password_texted_works_even_when_the_worker_dies_after_the_provider_took_it(
    admin,
    account,
    clock,
    settings,
    scripted_sms,
    django_capture_on_commit_callbacks,
    sms_outbox,
):
    scripted_sms.append(("after", WorkerKilled()))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        link = add_user(admin, account)
    sms_row = Delivery.objects.get(channel="sms")
    killed = 0
    for callback in callbacks:
        try:
            callback()
        except WorkerKilled:
            killed += 1
    assert killed == 1 and len(mail.outbox) == 1

    [text] = sms_outbox
    first = texted_password(text.body)
    assert User.objects.get(pk=link.user_id).check_password(first)

    # Redelivered, then swept: never texted again by itself (it would kill the first password).
    # The welcome e-mail, claimed in the same group and sent before the worker died, is unknown
    # too (the group is marked sent together) and not sent again either.
    assert sending.send(sms_row.pk) is False
    clock.shift(settings.PORTAL_OUTBOX_SENDING_TIMEOUT + 1)
    assert sending.sweep()["unknown"] == 2
    clock.shift(datetime.timedelta(hours=1))
    sending.sweep()
    assert len(sms_outbox) == 1 and len(mail.outbox) == 1
    assert User.objects.get(pk=link.user_id).check_password(first)

    # Staff decide to send it again: a new password, texted, and that one works.
    with django_capture_on_commit_callbacks(execute=True):
        assert sending.send_again(Delivery.objects.filter(pk=sms_row.pk)) == 1
    second = texted_password(sms_outbox[1].body)
    user = User.objects.get(pk=link.user_id)
    assert second != first and user.check_password(second) and not user.check_password(first)


def test_no_password_is_texted_to_someone_who_chose_one(
    admin, account, django_capture_on_commit_callbacks, sms_outbox
):
    with django_capture_on_commit_callbacks(execute=False):
        link = add_user(admin, account)
    user = User.objects.get(pk=link.user_id)
    user.set_password("their own choice 1")
    user.save()
    delivery = Delivery.objects.get(channel="sms")

    assert sending.send(delivery.pk) is False

    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error) == (
        Status.FAILED,
        "Undeliverable: The user already chose a password.",
    )
    assert sms_outbox == []
    assert User.objects.get(pk=link.user_id).check_password("their own choice 1")


# --- the broker down at commit ------------------------------------------------------------------


def test_with_the_broker_down_adding_a_user_answers_and_the_sweeper_sends_later(
    admin, account, clock, settings, monkeypatch, django_capture_on_commit_callbacks, sms_outbox
):
    calls = []

    def broker_down(ids: Any) -> None:
        calls.append(ids)
        raise kombu.exceptions.OperationalError("Error 111 connecting to 127.0.0.1:1")

    monkeypatch.setattr(tasks.send_delivery, "delay", broker_down)
    monkeypatch.setattr(tasks.send_deliveries, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        link = add_user(admin, account)  # robust: no error escapes, every callback ran

    assert link.pk and len(calls[0]) == 2 and mail.outbox == []  # both messages, in one batch
    monkeypatch.undo()
    clock.shift(settings.PORTAL_OUTBOX_REQUEUE_AFTER + 1)
    assert sending.sweep()["enqueued"] == 2
    assert len(mail.outbox) == 1 and len(sms_outbox) == 1


# --- a request's messages follow its action's feature -------------------------------------------


def queue_request_email(account: Any, to: Any, **facts: Any) -> Delivery:
    return queue_email(
        kind="accounts.validation_requested",
        to=to.email,
        user=to,
        language="en",
        account_id=account.pk,
        facts={"request_id": 1, "action": actions.REMOVE_USER, "preparer": "Claire", **facts},
        dedupe_key=f"test:{len(facts)}",
    )


def test_a_request_email_waits_for_its_own_feature_only(
    admin, account, django_capture_on_commit_callbacks
):
    closing("delegated_users")
    cache.clear()
    gate.forget_process_copy()

    with django_capture_on_commit_callbacks(execute=True):
        account_action = queue_request_email(account, admin)
        payment = queue_request_email(account, admin, feature="online_payment")

    account_action.refresh_from_db()
    payment.refresh_from_db()
    assert (account_action.status, account_action.held_for) == (Status.PENDING, "delegated_users")
    assert payment.status == Status.SENT
    assert timezone.now() < account_action.next_attempt_at


def test_an_error_that_quotes_the_text_is_recorded_without_it(
    admin, account, scripted_sms, django_capture_on_commit_callbacks, sms_outbox
):
    scripted_sms.append(("before", EchoingProviderError()))
    with django_capture_on_commit_callbacks(execute=True):
        add_user(admin, account)

    delivery = Delivery.objects.get(channel="sms")
    assert (delivery.status, delivery.attempts) == (Status.PENDING, 1)
    assert delivery.last_error == "EchoingProviderError: Refused: …"
    assert sms_outbox == []
