"""accounts.services.users: adding a pre-registered person, changing and removing rights, the
last administrator, and the credentials sent by e-mail and SMS (through the test backends)."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from accounts import rights, services
from accounts.exceptions import (
    ForeignContract,
    InvalidPersonDetails,
    LastAdministrator,
    NoRightChosen,
    NotAllowed,
    OwnAccess,
    PreRegistrationUnavailable,
    RightsBeyondYours,
    UserAlreadyLinked,
)
from accounts.models import AccountLink, AuditEvent, PreRegistration, User
from accounts.rights import Right
from accounts.rightsets import Profile, RightSet
from portal.models import Delivery
from portal.outbox import sending
from tests.accounts.delegation_factories import (
    PreRegistrationFactory,
    administrator,
    texted_password,
)
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
IP = "198.51.100.4"
C, M, V = Right.CONSULT, Right.MANAGE, Right.VALIDATE


@pytest.fixture
def account():
    account = BusinessAccountFactory.create(legal_name="Maple Leaf Outfitters Inc.")
    ContractFactory.create(account=account, number="4012345678")
    return account


@pytest.fixture
def admin(account):
    return administrator(account, first_name="Claire", last_name="Tremblay").user


@pytest.fixture
def person(account):
    return PreRegistrationFactory.create(
        account=account,
        first_name="Sophie",
        last_name="Martin",
        mobile_phone="+16135550142",
        email="sophie@mapleleaf.example",
    )


def add(admin, account, person, chosen=None, **overrides):
    arguments = {
        "actor": admin,
        "account": account,
        "pre_registration_id": person.pk,
        "email": person.email,
        "chosen": chosen or RightSet({None: M}),
        "ip": IP,
        **overrides,
    }
    return services.add_user(**arguments)


def test_adding_makes_the_user_with_its_rights_at_once_and_audits_it(
    admin, account, person, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        link = add(admin, account, person, RightSet({None: M}))

    user = link.user
    assert (user.email, user.first_name, user.last_name) == (
        "sophie@mapleleaf.example",
        "Sophie",
        "Martin",
    )
    assert (link.method, link.created_by, link.is_administrator) == (
        AccountLink.Method.ADMINISTRATOR,
        admin,
        False,
    )
    assert rights.can(user, M, account) and not rights.can(user, V, account)
    person.refresh_from_db()
    assert (person.user, person.used_at is not None) == (user, True)
    event = AuditEvent.objects.get(event=AuditEvent.Event.USER_ADDED)
    assert (event.actor, event.account, event.ip) == (admin, account, IP)
    assert event.details["rights"] == {"account": 20, "contracts": {}}
    assert user.must_enrol_second_factor is True


def test_the_identifier_goes_by_email_and_the_temporary_password_by_sms(
    admin, account, person, django_capture_on_commit_callbacks, sms_outbox
):
    with django_capture_on_commit_callbacks(execute=True):
        link = add(admin, account, person)

    [welcome] = [m for m in mail.outbox if m.to == ["sophie@mapleleaf.example"]]
    assert "Maple Leaf Outfitters Inc." in welcome.subject
    assert "Your identifier is this e-mail address." in welcome.body
    assert "Whole account: Consult and manage" in welcome.body
    [text] = sms_outbox
    assert text.recipients == ["+16135550142"]
    password = texted_password(text.body)
    assert password not in welcome.body
    user = User.objects.get(pk=link.user_id)
    assert user.check_password(password)
    expires = user.temporary_password_expires_at
    assert expires is not None
    assert expires - timezone.now() > datetime.timedelta(hours=71, minutes=59)
    assert expires - timezone.now() <= datetime.timedelta(hours=72)
    # The password is in no row but the hash: not in the outbox's rows or the audit.
    delivery = Delivery.objects.get(channel="sms")
    assert delivery.status == Delivery.Status.SENT
    for row in (*Delivery.objects.values(), *AuditEvent.objects.values()):
        assert password not in str(row)


def test_a_retried_sms_task_does_not_text_twice(
    admin, account, person, django_capture_on_commit_callbacks, sms_outbox
):
    with django_capture_on_commit_callbacks(execute=True):
        add(admin, account, person)
    delivery = Delivery.objects.get(channel="sms")

    assert sending.send(delivery.pk) is False
    assert len(sms_outbox) == 1


def test_a_failed_text_is_retried_and_the_password_texted_then_works(
    admin, account, person, django_capture_on_commit_callbacks, monkeypatch, sms_outbox
):
    real_send = sending.send_text

    def down(**kwargs):
        raise sending.SmsNotSent("provider down")

    monkeypatch.setattr(sending, "send_text", down)
    with django_capture_on_commit_callbacks(execute=True):
        link = add(admin, account, person)
    delivery = Delivery.objects.get(channel="sms")
    assert (delivery.status, delivery.attempts) == (Delivery.Status.PENDING, 1)
    assert delivery.last_error == "SmsNotSent: provider down"

    monkeypatch.setattr(sending, "send_text", real_send)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert sending.send(delivery.pk) is True

    [text] = sms_outbox
    assert User.objects.get(pk=link.user_id).check_password(texted_password(text.body))


def test_a_person_with_a_profile_is_given_access_without_new_credentials(
    admin, account, person, django_capture_on_commit_callbacks, sms_outbox
):
    existing = UserFactory.create(email="Sophie@MapleLeaf.example")

    with django_capture_on_commit_callbacks(execute=True):
        link = add(admin, account, person)

    assert link.user == existing
    assert sms_outbox == []
    assert [m.subject for m in mail.outbox] == ["You now act for Maple Leaf Outfitters Inc."]
    assert existing.has_usable_password()


def test_only_a_pre_registered_person_of_this_account_can_be_added(admin, account):
    elsewhere = PreRegistrationFactory.create()
    used = PreRegistrationFactory.create(account=account, used_at=timezone.now())

    for person in (elsewhere, used):
        with pytest.raises(PreRegistrationUnavailable):
            add(admin, account, person)
    with pytest.raises(PreRegistrationUnavailable):
        add(admin, account, elsewhere, pre_registration_id=999_999)
    assert not AccountLink.objects.filter(method=AccountLink.Method.ADMINISTRATOR).exists()


def test_a_person_is_added_once(admin, account, person):
    add(admin, account, person)

    with pytest.raises(PreRegistrationUnavailable):
        add(admin, account, person)


def test_someone_who_already_acts_for_the_account_is_refused(admin, account, person):
    AccountLinkFactory.create(account=account, user=UserFactory.create(email=person.email))

    with pytest.raises(UserAlreadyLinked):
        add(admin, account, person)
    person.refresh_from_db()
    assert person.used_at is None


@pytest.mark.parametrize(
    "recorded_email, email, phone",
    [
        ("", "not-an-email", "+16135550142"),
        ("", "", "+16135550142"),
        ("sophie@mapleleaf.example", "other@mapleleaf.example", "+16135550142"),
        ("sophie@mapleleaf.example", "", "12345"),
    ],
)
def test_bad_details_are_refused(admin, account, recorded_email, email, phone):
    # The mobile (and a recorded e-mail) come from the pre-registration, never from the caller.
    person = PreRegistrationFactory.create(
        account=account, email=recorded_email, mobile_phone=phone
    )

    with pytest.raises(InvalidPersonDetails):
        add(admin, account, person, email=email)


def test_rights_are_on_this_account_and_not_empty(admin, account, person):
    with pytest.raises(ForeignContract):
        add(admin, account, person, RightSet({ContractFactory.create().pk: C}))
    with pytest.raises(NoRightChosen):
        add(admin, account, person, RightSet())


def test_nobody_gives_rights_they_do_not_hold(account):
    from accounts.services.users import check_rights

    contract = account.contracts.get()
    holder = AccountLinkFactory.create(account=account, right=M).user

    check_rights(actor=holder, account=account, chosen=RightSet({None: M, contract.pk: C}))
    for beyond in (RightSet({None: V}), RightSet({contract.pk: V})):
        with pytest.raises(RightsBeyondYours):
            check_rights(actor=holder, account=account, chosen=beyond)


def test_an_administrator_with_manage_acts_only_through_a_request(account, person):
    preparer = administrator(account, level=M).user

    with pytest.raises(NotAllowed):
        add(preparer, account, person, RightSet({None: C}))


def test_a_preparer_cannot_ask_for_more_than_they_hold(account, person):
    from accounts import actions

    preparer = administrator(account, level=M).user
    administrator(account)
    payload = actions.add_user_payload(
        person=person, email=person.email, language="en", chosen=RightSet({None: V})
    )

    with pytest.raises(RightsBeyondYours):
        services.prepare_request(
            actor=preparer, account=account, kind=actions.ADD_USER, payload=payload, ip=IP
        )


def test_a_user_who_is_not_an_administrator_cannot_add(account, person):
    validator = AccountLinkFactory.create(account=account, right=V).user

    with pytest.raises(NotAllowed):
        add(validator, account, person)


# --- changing and removing ---------------------------------------------------------------------


def test_changing_rights_applies_at_once_and_tells_the_user(
    admin, account, django_capture_on_commit_callbacks
):
    target = AccountLinkFactory.create(account=account, right=C)
    contract = account.contracts.get()

    with django_capture_on_commit_callbacks(execute=True):
        services.change_rights(
            actor=admin,
            account=account,
            link_id=target.pk,
            chosen=RightSet({None: C, contract.pk: V}),
            ip=IP,
        )

    assert rights.can(target.user, V, contract) and not rights.can(target.user, M, account)
    event = AuditEvent.objects.get(event=AuditEvent.Event.RIGHTS_CHANGED)
    assert event.details["before"] == {"account": 10, "contracts": {}}
    assert event.details["after"] == {"account": 10, "contracts": {str(contract.pk): 30}}
    [message] = mail.outbox
    assert message.to == [target.user.email]
    assert "4012345678: Consult, manage and validate" in message.body


def test_the_three_ways_give_the_same_kind_of_rights(admin, account, person):
    contract = account.contracts.get()
    model = AccountLinkFactory.create(account=account, right=0)
    services.change_rights(
        actor=admin, account=account, link_id=model.pk, chosen=RightSet({contract.pk: M}), ip=IP
    )
    copied = RightSet.of_link(AccountLink.objects.get(pk=model.pk))
    executive = RightSet.from_profile(Profile.EXECUTIVE, [contract]).normalised()

    first = add(admin, account, person, copied)
    second = add(admin, account, PreRegistrationFactory.create(account=account), executive)

    assert rights.of_user(first.user, account).contracts == {contract.pk: M}
    assert rights.of_user(first.user, account).whole is None
    assert rights.of_user(second.user, account).whole == V


def test_removing_a_user_takes_access_away_and_tells_them(
    admin, account, django_capture_on_commit_callbacks
):
    target = AccountLinkFactory.create(account=account, right=V)

    with django_capture_on_commit_callbacks(execute=True):
        services.remove_user(actor=admin, account=account, link_id=target.pk, ip=IP)

    target.refresh_from_db()
    assert (target.status, target.removed_via, target.removed_by) == (
        AccountLink.Status.REMOVED,
        AccountLink.RemovedVia.ADMINISTRATOR,
        admin,
    )
    assert not rights.can(target.user, C, account)
    assert AuditEvent.objects.filter(event=AuditEvent.Event.USER_REMOVED).count() == 1
    assert [m.subject for m in mail.outbox] == ["You no longer act for Maple Leaf Outfitters Inc."]


def test_an_administrator_does_not_change_or_remove_themselves_here(admin, account):
    own = AccountLink.objects.get(user=admin)

    with pytest.raises(OwnAccess):
        services.change_rights(
            actor=admin, account=account, link_id=own.pk, chosen=RightSet({None: C}), ip=IP
        )
    with pytest.raises(OwnAccess):
        services.remove_user(actor=admin, account=account, link_id=own.pk, ip=IP)


# --- the last administrator --------------------------------------------------------------------


def test_the_last_administrator_is_kept_everywhere(admin, account, staff_user):
    own = AccountLink.objects.get(user=admin)

    with pytest.raises(LastAdministrator):
        services.remove_own_link(user=admin, account=account, ip=IP)
    with pytest.raises(LastAdministrator):
        services.unmark_administrators(actor=staff_user, link_ids=[own.pk], ip=IP)
    with pytest.raises(LastAdministrator):
        services.remove_links_by_staff(actor=staff_user, link_ids=[own.pk], ip=IP)
    own.refresh_from_db()
    assert (own.status, own.is_administrator) == (AccountLink.Status.ACTIVE, True)


def test_with_a_second_administrator_one_may_go(admin, account, staff_user):
    second = administrator(account)

    services.remove_user(actor=admin, account=account, link_id=second.pk, ip=IP)
    with pytest.raises(LastAdministrator):
        services.remove_own_link(user=admin, account=account, ip=IP)


def test_staff_make_administrators_with_every_right_through_the_service(account, staff_user):
    link = AccountLinkFactory.create(account=account, right=C)

    assert services.mark_administrators(actor=staff_user, link_ids=[link.pk], ip=IP) == 1

    assert rights.is_administrator(link.user, account)
    assert rights.can(link.user, V, account)
    event = AuditEvent.objects.get(event=AuditEvent.Event.ADMINISTRATOR_MARKED)
    assert (event.actor, event.details["user_email"]) == (staff_user, link.user.email)
    assert services.mark_administrators(actor=staff_user, link_ids=[link.pk], ip=IP) == 0


def test_the_default_right_of_self_linked_users_is_set_by_an_administrator(admin, account):
    services.set_default_right(actor=admin, account=account, level=M, ip=IP)
    account.refresh_from_db()

    assert account.default_right == M
    preparer = administrator(account, level=M).user
    with pytest.raises(NotAllowed):
        services.set_default_right(actor=preparer, account=account, level=V, ip=IP)


def test_pre_registrations_keep_e164_numbers(account):
    person = PreRegistrationFactory.create(account=account, mobile_phone="613 555-0199")
    person.refresh_from_db()

    assert str(PreRegistration.objects.get(pk=person.pk).mobile_phone) == "+16135550199"
