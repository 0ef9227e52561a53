"""accounts.services.link_account: proofs, refusals that reveal nothing, races, audit, gate."""

import pytest
from allauth.account.models import EmailAddress
from django.db import IntegrityError, transaction

from accounts import rights, services
from accounts.exceptions import AlreadyLinked, LinkRefused
from accounts.models import AccountLink, AuditEvent, BusinessAccount, Contact, Contract, LinkNotice
from accounts.rights import Right
from outages import gate
from outages.gate import FeatureClosed
from tests.accounts.conftest import CUSTOMER_NUMBER, POSTAL_CODE
from tests.accounts.factories import BusinessAccountFactory, ContactFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.callbacks import other_than_fragments
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
IP = "203.0.113.7"
REFUSED = "These details do not match our records."


def link(user, **proofs):
    return services.link_account(user=user, ip=IP, **proofs)


def test_matching_proofs_link_the_user_with_consult_and_audit_it(linkable, user):
    made = link(user, **linkable.proofs)

    assert made.account == linkable.account
    assert (made.status, made.is_administrator) == (AccountLink.Status.ACTIVE, False)
    assert rights.of_user(user, linkable.account).whole == Right.CONSULT
    assert (made.method, made.created_by) == (AccountLink.Method.SELF, user)
    event = AuditEvent.objects.get(event=AuditEvent.Event.LINKED)
    assert (event.actor, event.account, event.ip) == (user, linkable.account, IP)
    assert event.details["link_id"] == made.pk


@pytest.mark.parametrize(
    "customer_number, postal_code, contract_number",
    [
        ("0001234567", "K1A 0B1", "4012345678"),
        ("0001 234 567", "k1a0b1", "4012 345 678"),
        ("000-123-4567", " k1a 0b1 ", "4012-345-678"),
    ],
)
def test_what_people_type_is_normalised(
    linkable, user, customer_number, postal_code, contract_number
):
    made = link(
        user,
        customer_number=customer_number,
        postal_code=postal_code,
        contract_number=contract_number,
    )

    assert made.account == linkable.account


WRONG = {
    "customer number": {"customer_number": "0009999999"},
    "postal code": {"postal_code": "K1A 0B2"},
    "contract number": {"contract_number": "4099999999"},
    "missing contract number": {"contract_number": ""},
    "malformed customer number": {"customer_number": "12ab"},
    "malformed postal code": {"postal_code": "12345"},
    "malformed contract number": {"contract_number": "40-12"},
}


@pytest.mark.parametrize("case", WRONG)
def test_every_wrong_or_malformed_proof_gets_one_message_and_is_audited(linkable, user, case):
    with pytest.raises(LinkRefused) as refused:
        link(user, **{**linkable.proofs, **WRONG[case]})

    assert str(refused.value) == REFUSED
    assert not AccountLink.objects.exists()
    assert not LinkNotice.objects.exists()
    event = AuditEvent.objects.get()
    assert (event.event, event.actor, event.ip) == (AuditEvent.Event.LINK_REFUSED, user, IP)


def test_an_unknown_account_gets_the_same_message(db, user):
    with pytest.raises(LinkRefused) as refused:
        link(user, customer_number=CUSTOMER_NUMBER, postal_code=POSTAL_CODE)

    assert str(refused.value) == REFUSED
    assert AuditEvent.objects.get().event == AuditEvent.Event.LINK_REFUSED


def test_refusals_do_the_same_queries_whatever_is_wrong(
    linkable, django_assert_num_queries, settings
):
    settings.PORTAL_LINK_FAILURE_LIMITS = {"user": 100, "ip": 100, "customer_number": 100}
    gate.snapshot()  # the gate's cached snapshot is built once, not per attempt
    counts = []
    for case in ["customer number", "postal code", "contract number", "missing contract number"]:
        user = UserFactory.create()
        # The account, its active contracts and the audit row, whichever proof is wrong.
        with django_assert_num_queries(3) as captured, pytest.raises(LinkRefused):
            link(user, **{**linkable.proofs, **WRONG[case]})
        counts.append(len(captured))

    assert len(set(counts)) == 1


def test_a_refused_attempt_on_an_existing_account_names_it_for_staff_only(linkable, user):
    with pytest.raises(LinkRefused):
        link(user, **{**linkable.proofs, "postal_code": "K1A 0B2"})

    event = AuditEvent.objects.get()
    assert event.account == linkable.account
    assert event.details["typed_customer_number"] == CUSTOMER_NUMBER
    assert "K1A 0B2" not in str(event.details)  # the guessed postal code is not kept


@pytest.mark.parametrize(
    "contract_status", [Contract.Status.SUSPENDED, Contract.Status.EXPIRED, None]
)
def test_without_an_active_contract_no_contract_number_is_needed(db, user, contract_status):
    account = BusinessAccountFactory.create(
        customer_number=CUSTOMER_NUMBER, postal_code=POSTAL_CODE
    )
    if contract_status:
        ContractFactory.create(account=account, status=contract_status)

    made = link(user, customer_number=CUSTOMER_NUMBER, postal_code=POSTAL_CODE)

    assert made.account == account


def test_with_several_active_contracts_any_of_them_proves(linkable, user):
    other = ContractFactory.create(account=linkable.account, number="4055555555")

    made = link(user, **{**linkable.proofs, "contract_number": other.number})

    assert made.account == linkable.account


def test_a_contract_of_another_account_does_not_prove(linkable, user):
    stranger = ContractFactory.create(number="4077777777")

    with pytest.raises(LinkRefused):
        link(user, **{**linkable.proofs, "contract_number": stranger.number})


def test_already_linked_gets_a_clear_message_and_no_duplicate(linkable, user):
    link(user, **linkable.proofs)

    with pytest.raises(AlreadyLinked) as already:
        link(user, **linkable.proofs)

    assert str(already.value) == "Your profile is already linked to this business account."
    assert already.value.account == linkable.account
    assert AccountLink.objects.count() == 1


def test_the_database_refuses_a_second_active_link():
    existing = AccountLinkFactory.create()

    with pytest.raises(IntegrityError), transaction.atomic():
        AccountLink.objects.create(user=existing.user, account=existing.account)


def test_a_removed_link_does_not_stop_linking_again(linkable, user):
    first = link(user, **linkable.proofs)
    services.remove_own_link(user=user, account=linkable.account, ip=IP)

    again = link(user, **linkable.proofs)

    assert again.pk != first.pk
    assert AccountLink.objects.filter(status=AccountLink.Status.ACTIVE).get() == again


def test_the_race_is_decided_by_the_constraint_not_a_prior_check(linkable, user, monkeypatch):
    """The loser of two parallel submissions hits the unique constraint: AlreadyLinked."""
    AccountLinkFactory.create(user=user, account=linkable.account)  # the winner committed first
    created = []
    real_create = AccountLink.objects.create

    def spy(**kwargs):
        created.append(kwargs)
        return real_create(**kwargs)

    monkeypatch.setattr(AccountLink.objects, "create", spy)

    with pytest.raises(AlreadyLinked):
        link(user, **linkable.proofs)

    assert len(created) == 1  # it tried to insert: no check ran before
    assert AccountLink.objects.count() == 1
    assert not LinkNotice.objects.exists()  # the savepoint took the notices back too


def test_a_primary_contact_with_a_confirmed_email_becomes_administrator(linkable):
    user = UserFactory.create(email="Claire@MapleLeaf.example")  # case differs from the contact row

    made = link(user, **linkable.proofs)

    assert made.is_administrator is True
    assert rights.of_user(user, linkable.account).whole == Right.VALIDATE
    assert AuditEvent.objects.get().details["administrator"] is True


def test_an_unconfirmed_primary_address_does_not_make_an_administrator(linkable):
    user = UserFactory.create()
    EmailAddress.objects.create(user=user, email=linkable.primary.email, verified=False)

    assert link(user, **linkable.proofs).is_administrator is False


def test_a_billing_contact_is_not_made_administrator(linkable):
    user = UserFactory.create(email=linkable.billing.email)

    assert link(user, **linkable.proofs).is_administrator is False


@pytest.mark.parametrize(
    "kind, roles, expected",
    [
        (BusinessAccount.Kind.COMMERCIAL, ["PRIMARY", "BILLING"], {"p@x.example", "b@x.example"}),
        (BusinessAccount.Kind.SMALL_BUSINESS, ["PRIMARY", "BILLING"], {"p@x.example"}),
        (BusinessAccount.Kind.COMMERCIAL, ["PRIMARY", "PRIMARY"], {"p@x.example", "p2@x.example"}),
    ],
)
def test_the_link_makes_one_notice_per_recipient_by_account_kind(db, user, kind, roles, expected):
    account = BusinessAccountFactory.create(
        customer_number=CUSTOMER_NUMBER, postal_code=POSTAL_CODE, kind=kind
    )
    emails = iter(
        ["p@x.example", "b@x.example"] if roles[1] == "BILLING" else ["p@x.example", "p2@x.example"]
    )
    for role in roles:
        ContactFactory.create(account=account, role=role, email=next(emails))

    made = link(user, customer_number=CUSTOMER_NUMBER, postal_code=POSTAL_CODE)

    assert {notice.email for notice in made.notices.all()} == expected
    assert set(AuditEvent.objects.get(event="linked").details["notified"]) == expected


def test_a_person_who_is_primary_and_billing_gets_one_notice_in_the_primary_language(db, user):
    account = BusinessAccountFactory.create(
        customer_number=CUSTOMER_NUMBER, postal_code=POSTAL_CODE
    )
    ContactFactory.create(
        account=account, role=Contact.Role.BILLING, email="JG@x.example", language="en"
    )
    ContactFactory.create(
        account=account, role=Contact.Role.PRIMARY, email="jg@x.example", language="fr"
    )

    made = link(user, customer_number=CUSTOMER_NUMBER, postal_code=POSTAL_CODE)

    notice = made.notices.get()
    assert (notice.email, notice.language) == ("jg@x.example", "fr")


def test_notices_start_pending_and_are_sent_after_commit(
    linkable, user, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        made = link(user, **linkable.proofs)

    assert set(made.notices.values_list("sent_at", flat=True)) == {None}
    assert mailoutbox == []  # nothing leaves before the transaction commits
    assert len(other_than_fragments(callbacks)) == 1  # both notices, handed over together

    for callback in callbacks:
        callback()

    assert len(mailoutbox) == 2
    assert None not in set(made.notices.values_list("sent_at", flat=True))


def test_linking_is_refused_while_the_gate_is_closed(linkable, user, close_feature):
    close_feature("account_linking")

    with pytest.raises(FeatureClosed):
        link(user, **linkable.proofs)

    assert not AccountLink.objects.exists()
