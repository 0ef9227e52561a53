"""Delegated users behind the maintenance gate (views, services, tasks), and support staff's
side in the admin: pre-registrations, administrators, requests and deliveries, without N+1."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import actions, audit, services
from accounts.models import AccountLink, AuditEvent, PreRegistration, ValidationRequest
from accounts.rights import Right
from accounts.rightsets import RightSet
from outages import gate
from outages.gate import FeatureClosed
from portal.models import Delivery
from portal.outbox import sending
from tests.accounts.delegation_factories import PreRegistrationFactory, administrator
from tests.accounts.factories import BusinessAccountFactory
from tests.accounts.link_factories import AccountLinkFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    return BusinessAccountFactory.create()


# --- the gate ----------------------------------------------------------------------------------


def test_closing_delegated_users_closes_the_pages(client, account, close_feature):
    admin = administrator(account).user
    client.force_login(admin)
    close_feature("delegated_users")

    for name in ("users", "add_user"):
        response = client.get(reverse(f"accounts:{name}", args=[account.pk]))
        assert response.status_code == 503, name
        assert "Retry-After" in response
    # The rest of the account stays open, the queue with it: every app's requests wait there,
    # each decision gated on its own action's feature (tests/accounts/test_validation_features).
    assert client.get(reverse("accounts:detail", args=[account.pk])).status_code == 200
    assert client.get(reverse("accounts:to_validate", args=[account.pk])).status_code == 200


def test_a_read_only_interruption_keeps_the_list_and_disables_adding(
    client, account, close_feature
):
    client.force_login(administrator(account).user)
    close_feature("delegated_users", scope="writes")

    response = client.get(reverse("accounts:users", args=[account.pk]))

    assert response.status_code == 200
    assert 'id="users-down"' in response.content.decode()
    assert reverse("accounts:add_user", args=[account.pk]) not in response.content.decode()


def test_closing_delegated_users_stops_the_services(account, close_feature):
    admin = administrator(account).user
    person = PreRegistrationFactory.create(account=account)
    target = AccountLinkFactory.create(account=account)
    close_feature("delegated_users")

    with pytest.raises(FeatureClosed):
        services.add_user(
            actor=admin,
            account=account,
            pre_registration_id=person.pk,
            chosen=RightSet({None: Right.CONSULT}),
            ip=None,
        )
    with pytest.raises(FeatureClosed):
        services.remove_user(actor=admin, account=account, link_id=target.pk, ip=None)
    with pytest.raises(FeatureClosed):
        services.prepare_request(
            actor=admin,
            account=account,
            kind=actions.REMOVE_USER,
            payload=actions.remove_user_payload(link=target),
            ip=None,
        )
    assert AccountLink.objects.filter(account=account, status="active").count() == 2


def test_closing_delegated_users_holds_the_messages_until_it_reopens(
    account, close_feature, django_capture_on_commit_callbacks, sms_outbox
):
    admin = administrator(account).user
    person = PreRegistrationFactory.create(account=account)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.add_user(
            actor=admin,
            account=account,
            pre_registration_id=person.pk,
            chosen=RightSet({None: Right.CONSULT}),
            ip=None,
        )
    interruption = close_feature("delegated_users")
    gate.forget_process_copy()  # the worker is another process: it reads the window afresh

    for callback in callbacks:
        callback()

    assert mail.outbox == [] and sms_outbox == []
    held = Delivery.objects.order_by("kind")
    assert [(d.kind, d.held_for, d.attempts) for d in held] == [
        ("accounts.temporary_password", "delegated_users", 0),
        ("accounts.welcome", "delegated_users", 0),
    ]
    assert {d.next_attempt_at for d in held} == {interruption.ends_at}


def test_the_sweeper_requeues_lost_deliveries_once(
    account, django_capture_on_commit_callbacks, sms_outbox
):
    admin = administrator(account).user
    person = PreRegistrationFactory.create(account=account)
    with django_capture_on_commit_callbacks(execute=False):  # the broker lost both tasks
        services.add_user(
            actor=admin,
            account=account,
            pre_registration_id=person.pk,
            chosen=RightSet({None: Right.CONSULT}),
            ip=None,
        )
    Delivery.objects.update(enqueued_at=timezone.now() - datetime.timedelta(hours=1))

    assert sending.sweep()["enqueued"] == 2
    assert sending.sweep()["enqueued"] == 0
    assert len(mail.outbox) == 1 and len(sms_outbox) == 1


# --- the admin ---------------------------------------------------------------------------------


@pytest.fixture
def staff(client, mfa_staff_user):
    client.force_login(mfa_staff_user.user)
    return client


def make_rows(count: int) -> None:
    for _ in range(count):
        account = BusinessAccountFactory.create()
        preparer = administrator(account, level=Right.MANAGE).user
        administrator(account)
        person = PreRegistrationFactory.create(account=account)
        payload = actions.add_user_payload(
            person=person,
            email=person.email,
            language="en",
            chosen=RightSet({None: Right.CONSULT}),
        )
        services.prepare_request(
            actor=preparer, account=account, kind=actions.ADD_USER, payload=payload, ip=None
        )


CHANGELISTS = [
    "admin:accounts_preregistration_changelist",
    "admin:accounts_validationrequest_changelist",
    "admin:portal_delivery_changelist",
    "admin:accounts_accountlink_changelist",
]


@pytest.mark.parametrize("changelist", CHANGELISTS)
def test_each_list_does_not_grow_its_queries_with_rows(
    staff, changelist, django_assert_max_num_queries
):
    make_rows(1)
    gate.snapshot()
    with django_assert_max_num_queries(100) as one:
        assert staff.get(reverse(changelist)).status_code == 200
    make_rows(8)
    with django_assert_max_num_queries(len(one)) as nine:
        assert staff.get(reverse(changelist)).status_code == 200

    assert len(nine) == len(one)


def test_staff_pre_register_a_person_and_it_is_audited(staff, mfa_staff_user, account):
    response = staff.post(
        reverse("admin:accounts_preregistration_add"),
        {
            "account": account.pk,
            "last_name": "Martin",
            "first_name": "Sophie",
            "date_of_birth": "1988-03-14",
            "mobile_phone": "613 555-0142",
            "email": "",
            "language": "en",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    person = PreRegistration.objects.get()
    assert (str(person.mobile_phone), person.created_by) == ("+16135550142", mfa_staff_user.user)
    event = AuditEvent.objects.get(event=AuditEvent.Event.PRE_REGISTRATION_SAVED)
    assert event.actor == mfa_staff_user.user
    assert "1988" not in str(event.details)  # no personal data in the audit row


def test_a_used_pre_registration_is_read_only(staff, account):
    person = PreRegistrationFactory.create(account=account, used_at=timezone.now())
    change = reverse("admin:accounts_preregistration_change", args=[person.pk])

    assert staff.post(change, {"last_name": "Other"}).status_code == 403


def test_staff_mark_and_unmark_administrators_with_the_action(staff, account):
    first = administrator(account)
    second = AccountLinkFactory.create(account=account)
    changelist = reverse("admin:accounts_accountlink_changelist")

    made = staff.post(
        changelist,
        {"action": "make_administrators", "_selected_action": [second.pk]},
        follow=True,
    )
    unmade = staff.post(
        changelist,
        {"action": "unmake_administrators", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )

    assert "1 link changed." in made.content.decode()
    assert "at least one administrator" in unmade.content.decode()
    second.refresh_from_db()
    first.refresh_from_db()
    assert first.is_administrator and second.is_administrator
    assert AuditEvent.objects.filter(event=AuditEvent.Event.ADMINISTRATOR_MARKED).count() == 1


def test_a_links_rights_show_in_the_admin(staff, account):
    link = AccountLinkFactory.create(account=account, right=Right.MANAGE)
    audit.record(actor=None, account=account, event=AuditEvent.Event.LINKED, ip=None)

    listing = staff.get(reverse("admin:accounts_accountlink_changelist")).content.decode()
    change = staff.get(reverse("admin:accounts_accountlink_change", args=[link.pk]))

    assert "Whole account: Consult and manage" in listing
    assert change.status_code == 200


def test_requests_and_deliveries_are_read_only(staff, account):
    make_rows(1)
    request = ValidationRequest.objects.get()

    for model, pk in (
        ("accounts_validationrequest", request.pk),
        ("portal_delivery", Delivery.objects.earliest("pk").pk),
    ):
        assert staff.get(reverse(f"admin:{model}_change", args=[pk])).status_code == 200
        assert staff.post(reverse(f"admin:{model}_change", args=[pk]), {}).status_code == 403
