"""The administrator's "Users" pages: the four steps of "Add a user" without JavaScript, the
three ways of choosing rights, the second factor before any confirmation, the validation pages,
the audit trail, and another business never reachable by changing ids."""

import pytest
from django.core import mail
from django.urls import reverse

from accounts import actions, rights, services
from accounts.models import AccountLink, AuditEvent, PreRegistration, ValidationRequest
from accounts.rights import Right
from accounts.rightsets import RightSet
from tests.accounts.delegation_factories import PreRegistrationFactory, administrator, with_totp
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
C, M, V = Right.CONSULT, Right.MANAGE, Right.VALIDATE


@pytest.fixture
def account():
    account = BusinessAccountFactory.create(legal_name="Maple Leaf Outfitters Inc.")
    ContractFactory.create(account=account, number="4012345678")
    ContractFactory.create(account=account, number="4012345679")
    return account


@pytest.fixture
def admin(account, client):
    mfa = with_totp(administrator(account, email="claire@mapleleaf.example").user)
    client.force_login(mfa.user)
    return mfa


@pytest.fixture
def person(account):
    return PreRegistrationFactory.create(
        account=account,
        first_name="Sophie",
        last_name="Martin",
        email="",
        mobile_phone="+16135550142",
    )


def url(name, account, *args):
    return reverse(f"accounts:{name}", args=[account.pk, *args])


def reauthenticate(client, mfa):
    """Enter the second factor again (allauth's MFA reauthentication)."""
    response = client.post(reverse("mfa_reauthenticate"), {"code": mfa.code()})
    assert response.status_code == 302, response.content.decode()[:500]


def to_rights_step(client, account, person, email="sophie@mapleleaf.example"):
    assert client.post(url("add_user", account), {"person": person.pk}).status_code == 302
    response = client.post(url("add_details", account), {"email": email, "language": "en"})
    assert response["Location"] == url("add_rights", account)


# --- step 1: only pre-registered people ---------------------------------------------------------


def test_step_one_lists_only_this_accounts_unused_pre_registrations(client, admin, account, person):
    PreRegistrationFactory.create(first_name="Elsewhere")
    PreRegistrationFactory.create(
        account=account, first_name="Used", user=admin.user, used_at="2026-01-01T00:00Z"
    )

    page = client.get(url("add_user", account)).content.decode()

    assert "Sophie Martin" in page
    assert "Elsewhere" not in page and "Used" not in page


def test_nobody_pre_registered_says_to_contact_the_advisor(client, admin, account):
    response = client.get(url("add_user", account))

    assert response.status_code == 200
    assert 'id="no-pre-registration"' in response.content.decode()
    assert "pre-registered by your account advisor" in response.content.decode()


def test_a_pre_registration_of_another_account_cannot_be_picked(client, admin, account, person):
    foreign = PreRegistrationFactory.create()

    response = client.post(url("add_user", account), {"person": foreign.pk})

    assert response.status_code == 400
    assert "Choose one of the pre-registered people." in response.content.decode()


def test_an_administrator_without_two_factor_is_sent_to_set_it_up(client, account, person):
    plain = administrator(account).user
    client.force_login(plain)

    response = client.get(url("add_user", account))

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_index")


# --- step 2: personal data --------------------------------------------------------------------


def test_step_two_requires_a_valid_email_and_language(client, admin, account, person):
    # The mobile number is not asked: it is the pre-registration's (test_delegation_identity).
    client.post(url("add_user", account), {"person": person.pk})

    page = client.get(url("add_details", account)).content.decode()
    bad = client.post(url("add_details", account), {"email": "nope", "language": "de"})

    assert "Sophie" in page and "Martin" in page and "613 555-0142" in page
    assert bad.status_code == 400
    errors = bad.context["form"].errors
    assert set(errors) == {"email", "language"}


def test_later_steps_send_back_to_the_first_when_skipped(client, admin, account):
    assert client.get(url("add_details", account))["Location"] == url("add_user", account)
    assert client.get(url("add_rights", account))["Location"] == url("add_user", account)
    assert client.get(url("add_review", account))["Location"] == url("add_rights", account)


# --- step 3: the three ways ---------------------------------------------------------------------


def test_a_one_click_profile_goes_straight_to_the_review(client, admin, account, person):
    to_rights_step(client, account, person)

    response = client.post(url("add_rights", account), {"way": "EXECUTIVE"})
    review = client.get(url("add_review", account))

    assert response["Location"] == url("add_review", account)
    page = review.content.decode()
    assert 'id="validate-warning"' in page  # every VALIDATE right is flagged
    assert review.context["rows"][0].validate


def test_the_preparer_profile_pre_checks_consult_and_manage(client, admin, account, person):
    to_rights_step(client, account, person)

    response = client.post(url("add_rights", account), {"way": "PREPARER"})
    grid = client.get(url("add_custom", account)).context["form"].grid()

    assert response["Location"] == url("add_custom", account)
    assert all([box.checked for box in row.boxes] == [True, True, False] for row in grid)


def test_custom_rights_are_what_is_ticked(client, admin, account, person):
    to_rights_step(client, account, person)
    client.post(url("add_rights", account), {"way": "custom"})
    first = account.contracts.order_by("number").first()

    response = client.post(
        url("add_custom", account), {"whole": ["10"], f"contract_{first.pk}": ["10", "20"]}
    )
    review = client.get(url("add_review", account))

    assert response["Location"] == url("add_review", account)
    rows = {str(row.label): row.level for row in review.context["rows"]}
    assert rows == {"Whole account": C, "4012345678": M, "4012345679": C}
    assert "validate-warning" not in review.content.decode()


def test_custom_rights_need_at_least_one_box(client, admin, account, person):
    to_rights_step(client, account, person)
    client.post(url("add_rights", account), {"way": "custom"})

    response = client.post(url("add_custom", account), {})

    assert response.status_code == 400
    assert "Choose at least one right." in response.content.decode()


def test_copying_shows_the_copied_rights_for_review(client, admin, account, person):
    model = AccountLinkFactory.create(account=account, right=M)
    to_rights_step(client, account, person)

    response = client.post(url("add_rights", account), {"way": "copy", "copy_from": model.pk})
    review = client.get(url("add_review", account))

    assert response["Location"] == url("add_review", account)
    assert review.context["rows"][0].level == M


def test_copying_needs_a_user_of_this_account(client, admin, account, person):
    foreign = AccountLinkFactory.create(right=M)
    to_rights_step(client, account, person)

    response = client.post(url("add_rights", account), {"way": "copy", "copy_from": foreign.pk})
    empty = client.post(url("add_rights", account), {"way": "copy"})

    assert response.status_code == 400 and empty.status_code == 400
    assert "copy_from" in empty.context["form"].errors


def test_a_profile_beyond_the_administrators_rights_is_refused(client, account, person):
    preparer = with_totp(administrator(account, level=M).user)
    client.force_login(preparer.user)
    to_rights_step(client, account, person)

    response = client.post(url("add_rights", account), {"way": "EXECUTIVE"})

    assert response.status_code == 400
    assert "only give rights that you hold yourself" in response.content.decode()


# --- step 4: confirmation with a fresh second factor ---------------------------------------------


def test_no_confirmation_without_a_fresh_second_factor(
    client, admin, account, person, django_capture_on_commit_callbacks, sms_outbox
):
    to_rights_step(client, account, person)
    client.post(url("add_rights", account), {"way": "ACCOUNTANT"})

    response = client.post(url("add_review", account))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_reauthenticate"))
    assert not AccountLink.objects.filter(method=AccountLink.Method.ADMINISTRATOR).exists()

    # allauth keeps the POST; entering the code replays it.
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(response["Location"], {"code": admin.code()})

    assert confirmed.status_code == 302
    assert confirmed["Location"] == url("users", account)
    link = AccountLink.objects.get(method=AccountLink.Method.ADMINISTRATOR)
    assert link.user.email == "sophie@mapleleaf.example"
    assert rights.of_user(link.user, account).whole == C
    assert len(sms_outbox) == 1 and mail.outbox[0].to == ["sophie@mapleleaf.example"]
    assert PreRegistration.objects.get().used_at is not None


def test_a_wrong_code_confirms_nothing(client, admin, account, person):
    to_rights_step(client, account, person)
    client.post(url("add_rights", account), {"way": "ACCOUNTANT"})
    response = client.post(url("add_review", account))

    wrong = client.post(response["Location"], {"code": "000000"})

    assert wrong.status_code == 200  # the form again, with its error
    assert not AccountLink.objects.filter(method=AccountLink.Method.ADMINISTRATOR).exists()


def test_a_password_reauthentication_is_not_a_second_factor(
    client, admin, account, person, password
):
    to_rights_step(client, account, person)
    client.post(url("add_rights", account), {"way": "ACCOUNTANT"})
    client.post(url("add_review", account))
    client.post(reverse("account_reauthenticate"), {"password": password})

    response = client.post(url("add_review", account))

    assert response["Location"].startswith(reverse("mfa_reauthenticate"))
    assert not AccountLink.objects.filter(method=AccountLink.Method.ADMINISTRATOR).exists()


def test_a_preparer_confirms_into_the_queue(client, account, person):
    preparer = with_totp(administrator(account, level=M).user)
    validator = with_totp(administrator(account, email="val@mapleleaf.example").user)
    client.force_login(preparer.user)
    to_rights_step(client, account, person)
    client.post(url("add_rights", account), {"way": "ACCOUNTANT"})
    assert client.get(url("add_review", account)).context["queued"] is True
    reauthenticate(client, preparer)

    response = client.post(url("add_review", account), follow=True)

    assert "sent to the account&#x27;s validators" in response.content.decode()
    request = ValidationRequest.objects.get()
    assert request.state == ValidationRequest.State.PENDING
    # The validator sees it and approves it with their second factor.
    client.force_login(validator.user)
    listing = client.get(url("to_validate", account))
    assert [r.pk for r in listing.context["to_decide"]] == [request.pk]
    detail = client.get(url("request_detail", account, request.pk))
    assert "Sophie" in detail.content.decode() and detail.context["may_decide"]
    reauthenticate(client, validator)
    approved = client.post(url("approve_request", account, request.pk))
    assert approved["Location"] == url("to_validate", account)
    request.refresh_from_db()
    assert request.state == ValidationRequest.State.APPROVED


def test_the_preparer_sees_their_request_but_cannot_decide_it(client, account, person):
    preparer = with_totp(administrator(account, level=M).user)
    payload = actions.add_user_payload(
        person=person, email="s@x.example", language="en", chosen=RightSet({None: C})
    )
    request = services.prepare_request(
        actor=preparer.user, account=account, kind=actions.ADD_USER, payload=payload, ip=None
    )
    client.force_login(preparer.user)
    reauthenticate(client, preparer)

    listing = client.get(url("to_validate", account))
    refused = client.post(url("approve_request", account, request.pk))

    assert listing.context["mine"] == [request] and listing.context["to_decide"] == []
    assert refused.status_code == 302
    request.refresh_from_db()
    assert request.state == ValidationRequest.State.PENDING


def test_rejecting_needs_a_reason(client, account, person):
    preparer = administrator(account, level=M).user
    validator = administrator(account).user
    payload = actions.add_user_payload(
        person=person, email="s@x.example", language="en", chosen=RightSet({None: C})
    )
    request = services.prepare_request(
        actor=preparer, account=account, kind=actions.ADD_USER, payload=payload, ip=None
    )
    client.force_login(validator)

    empty = client.post(url("reject_request", account, request.pk), {"reason": ""})
    done = client.post(url("reject_request", account, request.pk), {"reason": "Left the firm."})

    assert empty.status_code == 400
    assert done.status_code == 302
    request.refresh_from_db()
    assert (request.state, request.reason) == (ValidationRequest.State.REJECTED, "Left the firm.")


# --- changing and removing ----------------------------------------------------------------------


def test_changing_a_users_rights_uses_the_same_steps(client, admin, account):
    target = AccountLinkFactory.create(account=account, right=C)
    reauthenticate(client, admin)

    client.post(url("change_rights", account, target.pk), {"way": "PREPARER"})
    client.post(url("change_custom", account, target.pk), {"whole": ["10", "20"]})
    review = client.get(url("change_review", account, target.pk))
    done = client.post(url("change_review", account, target.pk))

    assert review.context["previous_rows"][0].level == C
    assert done["Location"] == url("users", account)
    assert rights.of_user(target.user, account).whole == M


def test_removing_a_user_asks_the_second_factor(client, admin, account):
    target = AccountLinkFactory.create(account=account)

    page = client.get(url("remove_user", account, target.pk))
    first = client.post(url("remove_user", account, target.pk))

    assert page.status_code == 200
    assert first["Location"].startswith(reverse("mfa_reauthenticate"))
    client.post(first["Location"], {"code": admin.code()})
    target.refresh_from_db()
    assert target.status == AccountLink.Status.REMOVED


def test_an_administrator_cannot_open_their_own_rights_here(client, admin, account):
    own = AccountLink.objects.get(user=admin.user)

    assert client.get(url("change_rights", account, own.pk)).status_code == 404
    assert client.get(url("remove_user", account, own.pk)).status_code == 404


# --- what users see ---------------------------------------------------------------------------


def test_the_users_list_shows_each_users_rights(client, admin, account):
    first = account.contracts.order_by("number").first()
    target = AccountLinkFactory.create(account=account, right=C, user__email="bob@x.example")
    services.change_rights(
        actor=admin.user,
        account=account,
        link_id=target.pk,
        chosen=RightSet({None: C, first.pk: V}),
        ip=None,
    )

    page = client.get(url("users", account)).content.decode()

    assert "bob@x.example" in page
    assert "4012345678</span>: Consult, manage and validate" in page
    assert "Administrator" in page


def test_the_account_page_shows_your_rights(client, account):
    first = account.contracts.order_by("number").first()
    link = AccountLinkFactory.create(account=account, right=0)
    from accounts.models import Grant

    Grant.objects.create(link=link, contract=first, level=M)
    client.force_login(link.user)

    response = client.get(reverse("accounts:detail", args=[account.pk]))

    rows = {str(row.label): row.level for row in response.context["my_rights"]}
    assert rows == {"Whole account": None, "4012345678": M, "4012345679": None}
    assert 'id="your-rights"' in response.content.decode()
    assert reverse("accounts:users", args=[account.pk]) not in response.content.decode()


def test_the_audit_trail_is_for_administrators_and_paginated(client, admin, account):
    from accounts import audit

    for _ in range(60):
        audit.record(actor=admin.user, account=account, event=AuditEvent.Event.LINKED, ip=None)
    audit.record(
        actor=None, account=BusinessAccountFactory.create(), event=AuditEvent.Event.LINKED, ip=None
    )

    first = client.get(url("audit", account))
    second = client.get(url("audit", account), {"page": 2})

    assert first.status_code == 200
    assert len(first.context["page"]) == 50 and len(second.context["page"]) == 10
    client.force_login(AccountLinkFactory.create(account=account, right=V).user)
    assert client.get(url("audit", account)).status_code == 404


def test_self_linked_users_default_right_form(client, admin, account):
    reauthenticate(client, admin)

    response = client.post(url("default_right", account), {"level": "20"})

    account.refresh_from_db()
    assert response.status_code == 302 and account.default_right == M


# --- another business, by changing ids --------------------------------------------------------


def test_another_business_is_404_everywhere(client, admin, account, person):
    other = BusinessAccountFactory.create()
    ContractFactory.create(account=other)
    other_admin = administrator(other)
    other_user = AccountLinkFactory.create(account=other)
    other_person = PreRegistrationFactory.create(account=other)
    payload = actions.remove_user_payload(link=other_user)
    preparer = administrator(other, level=M).user
    other_request = services.prepare_request(
        actor=preparer, account=other, kind=actions.REMOVE_USER, payload=payload, ip=None
    )
    mine = AccountLinkFactory.create(account=account)
    reauthenticate(client, admin)

    for name, args in [
        ("users", []),
        ("add_user", []),
        ("add_details", []),
        ("add_rights", []),
        ("add_custom", []),
        ("add_review", []),
        ("change_rights", [other_user.pk]),
        ("change_review", [other_user.pk]),
        ("remove_user", [other_user.pk]),
        ("audit", []),
        ("to_validate", []),
        ("request_detail", [other_request.pk]),
        ("default_right", []),
        ("approve_request", [other_request.pk]),
        ("reject_request", [other_request.pk]),
    ]:
        for method in ("get", "post"):
            response = getattr(client, method)(url(name, other, *args))
            assert response.status_code in (404, 405), (name, method, response.status_code)

    # Ids of the other business inside my own account's pages: 404 too, or refused by the form.
    assert client.get(url("change_rights", account, other_user.pk)).status_code == 404
    assert client.post(url("remove_user", account, other_user.pk)).status_code == 404
    assert client.get(url("request_detail", account, other_request.pk)).status_code == 404
    assert client.post(url("approve_request", account, other_request.pk)).status_code == 404
    assert client.post(url("add_user", account), {"person": other_person.pk}).status_code == 400
    to_rights_step(client, account, person)
    copied = client.post(url("add_rights", account), {"way": "copy", "copy_from": other_admin.pk})
    assert copied.status_code == 400
    assert set(copied.context["form"].errors) == {"copy_from"}
    assert AccountLink.objects.filter(account=other, status="active").count() == 3
    assert mine.status == AccountLink.Status.ACTIVE
    other_request.refresh_from_db()
    assert other_request.state == ValidationRequest.State.PENDING


def test_a_plain_user_of_the_account_does_not_reach_the_users_pages(client, account):
    client.force_login(AccountLinkFactory.create(account=account, right=V).user)

    assert client.get(url("users", account)).status_code == 404
    assert client.get(url("add_user", account)).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, account):
    response = client.get(url("users", account))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_user_acting_for_nothing_gets_404(client, account):
    client.force_login(UserFactory.create())

    assert client.get(url("to_validate", account)).status_code == 404
