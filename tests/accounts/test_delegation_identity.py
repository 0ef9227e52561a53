"""Who a delegated user is: the pre-registration support recorded is the only source of the
person's mobile number (and of their e-mail when recorded), an address counts only once its owner
confirmed it, an existing profile is attached only through a confirmed address and never
silently, and the person's own language is used (issue 9: items 1, 2, 9, 13, 16 and 19)."""

import datetime
import re

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse

from accounts import actions, rights, services
from accounts.exceptions import InvalidPersonDetails
from accounts.models import AccountLink, Contact, PreRegistration, User
from accounts.rights import Right
from accounts.rightsets import RightSet
from portal.models import Delivery
from tests.accounts.delegation_factories import (
    PreRegistrationFactory,
    administrator,
    texted_password,
    with_totp,
)
from tests.accounts.factories import BusinessAccountFactory, ContactFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
C, M, V = Right.CONSULT, Right.MANAGE, Right.VALIDATE
MOBILE_MESSAGE = "Enter a mobile number that can receive text messages, for example 613 555-0123."


@pytest.fixture
def account():
    account = BusinessAccountFactory.create(legal_name="Maple Leaf Outfitters Inc.")
    ContractFactory.create(account=account, number="4012345678")
    return account


@pytest.fixture
def admin(account):
    return administrator(account, first_name="Claire", email="claire@mapleleaf.example").user


@pytest.fixture
def person(account):
    return PreRegistrationFactory.create(
        account=account,
        first_name="Sophie",
        last_name="Martin",
        mobile_phone="+16135550142",
        email="sophie@mapleleaf.example",
    )


def add(admin, account, person, **overrides):
    arguments = {
        "actor": admin,
        "account": account,
        "pre_registration_id": person.pk,
        "chosen": RightSet({None: M}),
        "ip": None,
        **overrides,
    }
    return services.add_user(**arguments)


def url(name, account, *args):
    return reverse(f"accounts:{name}", args=[account.pk, *args])


# --- 1. an existing profile only through a confirmed address, and never silently ---------------


def test_an_unconfirmed_address_on_a_strangers_profile_captures_nothing(
    admin, account, person, django_capture_on_commit_callbacks, sms_outbox
):
    stranger = UserFactory.create(email="stranger@elsewhere.example")
    EmailAddress.objects.create(user=stranger, email="sophie@mapleleaf.example", verified=False)

    with django_capture_on_commit_callbacks(execute=True):
        link = add(admin, account, person)

    assert link.user != stranger
    assert not rights.can(stranger, C, account)
    person.refresh_from_db()
    assert person.user == link.user
    assert link.user.email == "sophie@mapleleaf.example"
    assert len(sms_outbox) == 1  # a new profile: its own temporary password
    assert [m.to for m in mail.outbox] == [["sophie@mapleleaf.example"]]
    assert "Your identifier is this e-mail address." in mail.outbox[0].body


def test_a_profile_whose_own_e_mail_field_is_unconfirmed_is_not_matched_either(
    admin, account, person
):
    stranger = UserFactory.create(email="sophie@mapleleaf.example")
    EmailAddress.objects.filter(user=stranger).update(verified=False)

    link = add(admin, account, person)

    assert link.user != stranger
    assert not rights.can(stranger, C, account)


def test_a_profile_with_the_confirmed_address_is_given_access_and_told(
    admin, account, person, django_capture_on_commit_callbacks, sms_outbox
):
    existing = UserFactory.create(email="sophie@mapleleaf.example", language="fr")

    with django_capture_on_commit_callbacks(execute=True):
        link = add(admin, account, person)

    assert link.user == existing
    assert sms_outbox == []
    [told] = mail.outbox
    assert told.to == ["sophie@mapleleaf.example"]
    assert "Maple Leaf Outfitters Inc." in told.subject


@pytest.fixture
def signed_in_admin(client, account):
    mfa = with_totp(administrator(account, email="val@mapleleaf.example").user)
    client.force_login(mfa.user)
    return mfa


def to_review(client, account, person, **details):
    assert client.post(url("add_user", account), {"person": person.pk}).status_code == 302
    response = client.post(url("add_details", account), {"language": "en", **details})
    assert response["Location"] == url("add_rights", account), response.content.decode()[:3000]
    assert client.post(url("add_rights", account), {"way": "ACCOUNTANT"}).status_code == 302
    return client.get(url("add_review", account))


def test_the_review_says_when_the_person_already_has_a_profile(
    client, signed_in_admin, account, person
):
    UserFactory.create(email="sophie@mapleleaf.example")

    page = to_review(client, account, person).content.decode()

    assert 'id="existing-profile"' in page
    assert "already has a profile" in page
    assert "told by e-mail" in page
    assert 'id="new-profile"' not in page


def test_the_review_of_a_new_person_says_they_confirm_their_address(
    client, signed_in_admin, account, person
):
    stranger = UserFactory.create(email="stranger@elsewhere.example")
    EmailAddress.objects.create(user=stranger, email="sophie@mapleleaf.example", verified=False)

    page = to_review(client, account, person).content.decode()

    assert 'id="existing-profile"' not in page
    assert 'id="new-profile"' in page
    assert "confirm" in page


# --- 2. an address counts once its owner confirmed it -------------------------------------------


def test_the_new_users_address_is_unconfirmed(admin, account, person):
    link = add(admin, account, person)

    address = EmailAddress.objects.get(user=link.user)
    assert (address.email, address.primary, address.verified) == (
        "sophie@mapleleaf.example",
        True,
        False,
    )


def test_a_puppet_with_a_primary_contacts_address_does_not_administer_that_business(admin, account):
    other = BusinessAccountFactory.create(customer_number="0009876543", postal_code="H2X 1Y4")
    ContactFactory.create(account=other, role=Contact.Role.PRIMARY, email="boss@other.example")
    puppet_person = PreRegistrationFactory.create(account=account, email="")
    puppet = add(admin, account, puppet_person, email="boss@other.example").user

    made = services.link_account(
        user=puppet, customer_number="0009876543", postal_code="H2X 1Y4", ip=None
    )

    assert made.is_administrator is False
    assert not rights.can(puppet, V, other)
    assert rights.of_user(puppet, other).whole == other.default_right


def test_the_first_sign_in_confirms_the_address_then_the_owner_counts_as_primary_contact(
    client, admin, account, person, django_capture_on_commit_callbacks, sms_outbox
):
    other = BusinessAccountFactory.create(customer_number="0009876543", postal_code="H2X 1Y4")
    ContactFactory.create(
        account=other, role=Contact.Role.PRIMARY, email="sophie@mapleleaf.example"
    )
    with django_capture_on_commit_callbacks(execute=True):
        user = add(admin, account, person).user
    password = texted_password(sms_outbox[0].body)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        signed_in = client.post(
            reverse("account_login"), {"login": "sophie@mapleleaf.example", "password": password}
        )
    # Not signed in yet: allauth sends a confirmation link to the address first.
    assert signed_in["Location"] == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session
    [confirmation] = mail.outbox
    assert confirmation.to == ["sophie@mapleleaf.example"]
    path = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", str(confirmation.body))
    assert path, confirmation.body

    confirmed = client.post(path.group(1))

    assert confirmed.status_code == 302
    assert EmailAddress.objects.get(user=user).verified is True
    # Signed in by the confirmation; the temporary password is replaced before anything.
    assert client.get(reverse("home"))["Location"] == reverse("account_change_password")
    made = services.link_account(
        user=user, customer_number="0009876543", postal_code="H2X 1Y4", ip=None
    )
    assert made.is_administrator is True


# --- 9. the identity support recorded cannot be redirected --------------------------------------


def test_the_mobile_number_comes_from_the_pre_registration_only(
    client, signed_in_admin, account, person, django_capture_on_commit_callbacks, sms_outbox
):
    review = to_review(client, account, person, mobile_phone="514 555-0199")

    assert "613 555-0142" in review.content.decode()
    assert "514 555-0199" not in review.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("mfa_reauthenticate"), {"code": signed_in_admin.code()})
        client.post(url("add_review", account))

    [text] = sms_outbox
    assert text.recipients == ["+16135550142"]


def test_the_details_step_shows_the_mobile_formatted_and_not_as_a_field(
    client, signed_in_admin, account, person
):
    client.post(url("add_user", account), {"person": person.pk})

    response = client.get(url("add_details", account))

    page = response.content.decode()
    assert "mobile_phone" not in response.context["form"].fields
    assert "613 555-0142" in page and "+16135550142" not in page


def test_a_recorded_e_mail_cannot_be_replaced_on_the_details_step(
    client, signed_in_admin, account, person
):
    review = to_review(client, account, person, email="attacker@evil.example")

    page = review.content.decode()
    assert "sophie@mapleleaf.example" in page and "attacker@evil.example" not in page
    assert review.context["draft"].email == "sophie@mapleleaf.example"


def test_the_service_refuses_another_e_mail_than_the_recorded_one(admin, account, person):
    with pytest.raises(InvalidPersonDetails):
        add(admin, account, person, email="attacker@evil.example")

    assert not AccountLink.objects.filter(method=AccountLink.Method.ADMINISTRATOR).exists()


def test_a_queued_request_cannot_carry_another_e_mail_either(account, person):
    preparer = administrator(account, level=M).user
    administrator(account)
    payload = actions.add_user_payload(
        person=person, email="attacker@evil.example", language="en", chosen=RightSet({None: C})
    )

    with pytest.raises(InvalidPersonDetails):
        services.prepare_request(
            actor=preparer, account=account, kind=actions.ADD_USER, payload=payload, ip=None
        )


def test_the_administrator_types_the_e_mail_only_when_support_recorded_none(
    client, signed_in_admin, account
):
    person = PreRegistrationFactory.create(account=account, email="", mobile_phone="+16135550142")
    client.post(url("add_user", account), {"person": person.pk})

    missing = client.post(url("add_details", account), {"language": "en", "email": ""})
    review = to_review(client, account, person, email="typed@mapleleaf.example")

    assert missing.status_code == 400 and "email" in missing.context["form"].errors
    assert review.context["draft"].email == "typed@mapleleaf.example"


def test_a_stored_mobile_that_cannot_receive_texts_is_refused(admin, account):
    person = PreRegistrationFactory.create(account=account, mobile_phone="+18002677651")

    with pytest.raises(InvalidPersonDetails):
        add(admin, account, person)


def test_the_text_carries_the_password_only_and_the_e_mail_the_identifier_only(
    admin, account, person, django_capture_on_commit_callbacks, sms_outbox
):
    with django_capture_on_commit_callbacks(execute=True):
        add(admin, account, person)

    [text] = sms_outbox
    password = texted_password(text.body)
    assert "sophie@mapleleaf.example" not in text.body and "@" not in text.body
    [welcome] = mail.outbox
    assert "Your identifier is this e-mail address." in welcome.body
    assert password not in welcome.body
    [(html, _mime)] = getattr(welcome, "alternatives", [])
    assert password not in html
    assert "confirm" in welcome.body


# --- 13. numbers are parsed by form fields ------------------------------------------------------


@pytest.mark.parametrize("value", ["²", "٣", "1.0", "-10", "", "99999999999999999999"])
def test_odd_numbers_on_the_custom_rights_step_are_a_form_error(
    client, signed_in_admin, account, person, value
):
    to_review(client, account, person)
    client.post(url("add_rights", account), {"way": "custom"})

    response = client.post(url("add_custom", account), {"whole": [value]})

    assert response.status_code == 400
    assert response.context["form"].errors


# --- 16. the person's own language ---------------------------------------------------------------


def test_the_new_user_gets_the_pre_registrations_language(
    account, person, django_capture_on_commit_callbacks, sms_outbox
):
    admin = administrator(account, language="en").user
    PreRegistration.objects.filter(pk=person.pk).update(language="fr")

    with django_capture_on_commit_callbacks(execute=True):
        link = add(admin, account, person)

    assert User.objects.get(pk=link.user_id).language == "fr"
    [welcome] = mail.outbox
    assert welcome.subject.startswith("Votre accès à Maple Leaf Outfitters Inc.")
    assert Delivery.objects.get(channel="sms").language == "fr"


def test_the_administrator_corrects_the_language_on_the_details_step(
    client, signed_in_admin, account, person, django_capture_on_commit_callbacks, sms_outbox
):
    PreRegistration.objects.filter(pk=person.pk).update(language="en")
    client.post(url("add_user", account), {"person": person.pk})
    page = client.get(url("add_details", account))
    assert page.context["form"]["language"].value() == "en"

    to_review(client, account, person, language="fr")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("mfa_reauthenticate"), {"code": signed_in_admin.code()})
        client.post(url("add_review", account))

    assert AccountLink.objects.get(method=AccountLink.Method.ADMINISTRATOR).user.language == "fr"
    assert Delivery.objects.get(channel="sms").language == "fr"
    assert mail.outbox[0].subject.startswith("Votre accès à")


def test_an_existing_profile_keeps_its_own_language(admin, account, person):
    existing = UserFactory.create(email="sophie@mapleleaf.example", language="en")
    PreRegistration.objects.filter(pk=person.pk).update(language="fr")

    add(admin, account, person)

    existing.refresh_from_db()
    assert existing.language == "en"


def test_an_unknown_language_is_refused(admin, account, person):
    with pytest.raises(InvalidPersonDetails):
        add(admin, account, person, language="de")


# --- 19. support's pre-registration form ---------------------------------------------------------


@pytest.fixture
def staff(client, mfa_staff_user):
    client.force_login(mfa_staff_user.user)
    return client


def pre_register(staff, account, **overrides):
    data = {
        "account": account.pk,
        "last_name": "Martin",
        "first_name": "Sophie",
        "date_of_birth": "1988-03-14",
        "mobile_phone": "613 555-0142",
        "email": "",
        "language": "fr",
        **overrides,
    }
    return staff.post(reverse("admin:accounts_preregistration_add"), data)


def test_support_records_the_persons_language(staff, account):
    response = pre_register(staff, account)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert PreRegistration.objects.get().language == "fr"


@time_machine.travel(datetime.datetime(2026, 5, 1, 12, tzinfo=datetime.UTC), tick=False)
@pytest.mark.parametrize("born", ["2026-05-02", "2030-01-01", "1900-01-01"])
def test_a_future_or_absurd_date_of_birth_is_refused(staff, account, born):
    response = pre_register(staff, account, date_of_birth=born)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["date_of_birth"]
    assert len(errors["date_of_birth"]) == 1
    assert not PreRegistration.objects.exists()


@pytest.mark.parametrize("number", ["1 800 267 7651", "12345", "not a number", "+44 20 7946 0958"])
def test_a_number_that_cannot_receive_texts_gets_one_clear_message(staff, account, number):
    response = pre_register(staff, account, mobile_phone=number)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["mobile_phone"]
    assert errors == [MOBILE_MESSAGE]
    assert not PreRegistration.objects.exists()


def test_an_international_mobile_is_accepted(staff, account):
    response = pre_register(staff, account, mobile_phone="+44 7400 123456")

    assert response.status_code == 302, response.content.decode()[:2000]
    assert str(PreRegistration.objects.get().mobile_phone) == "+447400123456"


def test_support_sees_numbers_formatted_nationally(staff, account):
    person = PreRegistrationFactory.create(account=account, mobile_phone="+16135550199")

    listing = staff.get(reverse("admin:accounts_preregistration_changelist")).content.decode()
    change = staff.get(reverse("admin:accounts_preregistration_change", args=[person.pk]))

    assert "613 555-0199" in listing and "+16135550199" not in listing
    assert 'value="613 555-0199"' in change.content.decode()


def test_the_step_one_list_shows_numbers_formatted_nationally(
    client, signed_in_admin, account, person
):
    page = client.get(url("add_user", account)).content.decode()

    assert "613 555-0142" in page


def test_the_validators_page_shows_the_number_formatted(account, person):
    payload = actions.add_user_payload(
        person=person, email=person.email, language="en", chosen=RightSet({None: C})
    )

    assert payload["phone"] == "613 555-0142"
    assert payload["language"] == "en"


def test_a_user_already_linked_keeps_the_pre_registration_available(admin, account, person):
    AccountLinkFactory.create(
        account=account, user=UserFactory.create(email="sophie@mapleleaf.example")
    )

    from accounts.exceptions import UserAlreadyLinked

    with pytest.raises(UserAlreadyLinked):
        add(admin, account, person)
    person.refresh_from_db()
    assert person.used_at is None
