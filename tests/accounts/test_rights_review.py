"""What the security review found in accounts.rights and around it: contract grants tied to the
contract's current account, the default right of self-linked users at most MANAGE, "To validate"
showing a request only to those who may act on it, the anonymous 404 — and tests that pin each
filter of the rights questions (administrator of which account, validators by level, target,
active link and administration)."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.http import Http404
from django.urls import reverse

from accounts import actions, rights, services
from accounts.exceptions import DefaultRightTooHigh
from accounts.forms import DefaultRightForm
from accounts.models import AccountLink, BusinessAccount, Contract, Grant, ValidationRequest
from accounts.rights import Right
from accounts.validation import Action, fingerprint_of
from outages.features import Feature
from tests.accounts.delegation_factories import administrator, with_totp
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
C, M, V = Right.CONSULT, Right.MANAGE, Right.VALIDATE
IP = "198.51.100.7"


def _noop(**kwargs):
    return {}


def contract_action(contract: Contract, *, administration: bool = False) -> Action:
    """An action (not registered) whose target is `contract`, e.g. activating a policy on it."""
    return Action(
        kind="tests.on_contract",
        feature=Feature.ONLINE_PAYMENT,
        label="On a contract",
        perform=_noop,
        fingerprint=lambda account, payload: fingerprint_of(1),
        target=lambda account, payload: contract,
        administration=administration,
    )


def account_action(*, administration: bool) -> Action:
    return Action(
        kind="tests.on_account",
        feature=Feature.ONLINE_PAYMENT,
        label="On the account",
        perform=_noop,
        fingerprint=lambda account, payload: fingerprint_of(1),
        administration=administration,
    )


def contract_link(account, contract, level, **kwargs) -> AccountLink:
    """A link holding `level` on `contract` only."""
    link = AccountLinkFactory.create(account=account, right=0, **kwargs)
    Grant.objects.create(link=link, contract=contract, level=level)
    return link


@pytest.fixture
def first():
    return BusinessAccountFactory.create(legal_name="Boréal Distribution Ltée")


@pytest.fixture
def second():
    return BusinessAccountFactory.create(legal_name="Northern Freight Co.")


# --- 5. a contract grant counts only on the contract's current account ---------------------------


def test_a_contract_grant_is_worth_nothing_once_its_contract_moved(first, second):
    contract = ContractFactory.create(account=first)
    holder = contract_link(first, contract, V).user
    action = contract_action(contract)
    assert rights.can(holder, V, contract)  # before the move: the grant works
    assert list(rights.validators_of(action, first, {})) == [holder]

    Contract.objects.filter(pk=contract.pk).update(account=second)  # e.g. by an old admin form
    contract.refresh_from_db()

    assert not rights.can(holder, C, contract)
    assert not rights.summary_for(holder).can(C, contract)
    assert not rights.may_validate(holder, action, second, {})
    assert not rights.may_validate(holder, action, second, {}, rights.summary_for(holder))
    assert list(rights.validators_of(action, second, {})) == []
    assert list(rights.contracts_for(holder, C, second)) == []
    # Nor does the stale grant reach its former account any more.
    assert list(rights.accounts_for(holder)) == []
    assert rights.of_user(holder, first).highest is None


def test_the_new_owners_users_keep_their_own_rights_on_a_moved_contract(first, second):
    contract = ContractFactory.create(account=first)
    contract_link(first, contract, V)
    owner = AccountLinkFactory.create(account=second, right=V).user
    Contract.objects.filter(pk=contract.pk).update(account=second)
    contract.refresh_from_db()

    assert rights.can(owner, V, contract)
    assert list(rights.validators_of(contract_action(contract), second, {})) == [owner]


def test_staff_cannot_move_a_saved_contract_to_another_account(
    client, mfa_staff_user, first, second
):
    contract = ContractFactory.create(account=first, number="4012345600")
    client.force_login(mfa_staff_user.user)
    change = reverse("admin:accounts_contract_change", args=[contract.pk])

    page = client.get(change)
    assert page.status_code == 200
    assert 'name="account"' not in page.content.decode()  # shown, not editable
    client.post(
        change,
        {
            "account": second.pk,
            "number": contract.number,
            "kind": contract.kind,
            "status": contract.status,
            "starts_on": contract.starts_on.isoformat(),
        },
    )

    contract.refresh_from_db()
    assert contract.account == first
    # A new contract still chooses its account.
    assert 'name="account"' in client.get(reverse("admin:accounts_contract_add")).content.decode()


# --- 4. self-linked users receive at most MANAGE --------------------------------------------------


def test_the_default_right_cannot_be_validate(first):
    admin = administrator(first).user

    with pytest.raises(DefaultRightTooHigh):
        services.set_default_right(actor=admin, account=first, level=V, ip=IP)

    first.refresh_from_db()
    assert first.default_right == C
    assert services.set_default_right(actor=admin, account=first, level=M, ip=IP).default_right == M


def test_the_default_right_form_offers_consult_and_manage_only():
    offered = str(DefaultRightForm())
    assert 'value="10"' in offered and 'value="20"' in offered
    assert 'value="30"' not in offered
    assert not DefaultRightForm({"level": str(V)}).is_valid()
    assert DefaultRightForm({"level": str(M)}).is_valid()


def test_the_database_refuses_a_validate_default(first):
    with pytest.raises(IntegrityError), transaction.atomic():
        BusinessAccount.objects.filter(pk=first.pk).update(default_right=V)


def test_the_users_page_does_not_save_a_validate_default(client, first):
    mfa = with_totp(administrator(first).user)
    client.force_login(mfa.user)
    client.post(reverse("mfa_reauthenticate"), {"code": mfa.code()})

    client.post(reverse("accounts:default_right", args=[first.pk]), {"level": str(V)})

    first.refresh_from_db()
    assert first.default_right == C


@pytest.mark.django_db(transaction=True)
def test_the_migration_lowers_validate_defaults_to_manage():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        old = _migrate([("accounts", "0003_delegated_users")])
        accounts = old.get_model("accounts", "BusinessAccount").objects
        fields = {"kind": "COMMERCIAL", "street_address": "1 Main", "city": "Ottawa"}
        fields |= {"province": "ON", "postal_code": "K1A 0B1"}
        accounts.create(customer_number="0000000030", legal_name="V", default_right=30, **fields)
        accounts.create(customer_number="0000000020", legal_name="M", default_right=20, **fields)

        new = _migrate([("accounts", "0004_default_right_at_most_manage")])

        rows = new.get_model("accounts", "BusinessAccount").objects.order_by("customer_number")
        assert list(rows.values_list("customer_number", "default_right")) == [
            ("0000000020", 20),
            ("0000000030", 20),
        ]
        lowered = new.get_model("accounts", "AuditEvent").objects.get()
        assert (lowered.customer_number, lowered.details["before"]) == ("0000000030", 30)
    finally:
        _migrate(latest)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


# --- 21. an anonymous caller gets the 404 everyone else gets --------------------------------------


def test_an_anonymous_caller_gets_404_for_an_administered_account(first):
    administrator(first)

    with pytest.raises(Http404):
        rights.get_administered_account_or_404(AnonymousUser(), first.pk)
    with pytest.raises(Http404):
        rights.get_administered_account_or_404(AnonymousUser(), first.pk, V)


# --- pinning each filter of the rights questions -------------------------------------------------


def test_an_administrator_of_one_account_is_not_administrator_of_another(first, second):
    link = administrator(first)
    AccountLinkFactory.create(account=second, user=link.user, right=V)  # linked, not administrator

    assert rights.is_administrator(link.user, first)
    assert not rights.is_administrator(link.user, second)
    assert not rights.summary_for(link.user).is_administrator(second)


def test_a_removed_administrator_link_administers_nothing(first):
    link = administrator(first)
    link.mark_removed(by=link.user, via=AccountLink.RemovedVia.SELF)

    assert not rights.is_administrator(link.user, first)


def test_validators_are_those_holding_validate_not_manage(first):
    validator = AccountLinkFactory.create(account=first, right=V).user
    AccountLinkFactory.create(account=first, right=M)
    AccountLinkFactory.create(account=first, right=C)

    assert list(rights.validators_of(account_action(administration=False), first, {})) == [
        validator
    ]


def test_validators_of_a_contract_hold_validate_on_it_or_on_the_whole_account(first):
    target, other = ContractFactory.create(account=first), ContractFactory.create(account=first)
    on_target = contract_link(first, target, V).user
    contract_link(first, other, V)  # validates another contract only
    contract_link(first, target, M)  # manages the target only
    whole = AccountLinkFactory.create(account=first, right=V).user

    validators = rights.validators_of(contract_action(target), first, {})

    assert set(validators) == {on_target, whole}


def test_validators_are_on_this_account_only(first, second):
    AccountLinkFactory.create(account=second, right=V)
    mine = AccountLinkFactory.create(account=first, right=V).user

    assert list(rights.validators_of(account_action(administration=False), first, {})) == [mine]


def test_a_removed_link_or_an_inactive_profile_validates_nothing(first):
    removed = AccountLinkFactory.create(account=first, right=V)
    removed.mark_removed(by=None, via=AccountLink.RemovedVia.STAFF)
    AccountLinkFactory.create(account=first, right=V, user=UserFactory.create(is_active=False))
    kept = AccountLinkFactory.create(account=first, right=V).user

    assert list(rights.validators_of(account_action(administration=False), first, {})) == [kept]


def test_administration_is_validated_by_administrators_only(first):
    plain = AccountLinkFactory.create(account=first, right=V).user  # VALIDATE, not administrator
    admin = administrator(first).user
    administration = account_action(administration=True)
    ordinary = account_action(administration=False)

    assert list(rights.validators_of(administration, first, {})) == [admin]
    for summary in (None, rights.summary_for(plain)):  # asked by query, then in memory
        assert not rights.may_validate(plain, administration, first, {}, summary)
        assert not rights.may_prepare(plain, administration, first, {}, summary)
        assert rights.may_validate(plain, ordinary, first, {}, summary)
    for summary in (None, rights.summary_for(admin)):
        assert rights.may_validate(admin, administration, first, {}, summary)


def test_an_administrator_with_manage_prepares_administration_but_does_not_validate_it(first):
    preparer = administrator(first, level=M).user
    administration = account_action(administration=True)

    for summary in (None, rights.summary_for(preparer)):
        assert rights.may_prepare(preparer, administration, first, {}, summary)
        assert not rights.may_validate(preparer, administration, first, {}, summary)


# --- 6. "To validate" shows a request only to those who may act on it -----------------------------


ADD_PAYLOAD = {
    "pre_registration": 1,
    "first_name": "Nadia",
    "last_name": "Roy",
    "date_of_birth": "1987-02-03",
    "email": "nadia.roy@boreal.example",
    "phone": "+15145550119",
    "rights": {"account": 20, "contracts": {}},
}


@pytest.fixture
def queue(first):
    """A pending add-user request (with a newcomer's personal data) and a removal request."""
    preparer = administrator(first, level=M, email="prep@boreal.example").user
    validator = administrator(first, email="val@boreal.example").user
    target = AccountLinkFactory.create(account=first, right=C)
    add = ValidationRequest.objects.create(
        account=first,
        kind=actions.ADD_USER,
        payload=ADD_PAYLOAD,
        fingerprint="x",
        prepared_by=preparer,
    )
    remove = services.prepare_request(
        actor=preparer,
        account=first,
        kind=actions.REMOVE_USER,
        payload=actions.remove_user_payload(link=target),
        ip=IP,
    )
    return {"preparer": preparer, "validator": validator, "add": add, "remove": remove}


def pages(first, request):
    return (
        reverse("accounts:to_validate", args=[first.pk]),
        reverse("accounts:request_detail", args=[first.pk, request.pk]),
    )


def test_a_manager_who_may_not_act_on_administration_sees_no_request(client, first, queue):
    manager = AccountLinkFactory.create(account=first, right=M).user  # MANAGE, not administrator
    client.force_login(manager)

    listing = client.get(reverse("accounts:to_validate", args=[first.pk]))

    assert listing.status_code == 200
    page = listing.content.decode()
    assert "nadia.roy@boreal.example" not in page and "Remove a user" not in page
    assert listing.context["to_decide"] == [] and listing.context["decided"] == []
    for request in (queue["add"], queue["remove"]):
        assert client.get(pages(first, request)[1]).status_code == 404
        approve = reverse("accounts:approve_request", args=[first.pk, request.pk])
        assert client.post(approve).status_code in (302, 404)  # the second factor, or 404
        reject = reverse("accounts:reject_request", args=[first.pk, request.pk])
        assert client.post(reject, {"reason": "no"}).status_code == 404
    assert ValidationRequest.objects.filter(state=ValidationRequest.State.PENDING).count() == 2


def test_the_queue_counts_only_the_requests_one_may_see(client, first, queue):
    """The page count and the number of rows are the requests shown: a manager who may not act
    on administration reads an empty queue, not "page 1 of 1" over requests hidden from them."""
    manager = AccountLinkFactory.create(account=first, right=M).user  # MANAGE, not administrator
    contract = ContractFactory.create(account=first)
    contract_validator = contract_link(first, contract, V).user
    listing = reverse("accounts:to_validate", args=[first.pk])

    for user in (manager, contract_validator):
        client.force_login(user)
        page = client.get(listing).context["page"]
        assert page.paginator.count == 0 and list(page.object_list) == []

    client.force_login(queue["validator"])
    page = client.get(listing).context["page"]
    assert page.paginator.count == 2
    assert [r.pk for r in page.object_list] == [queue["add"].pk, queue["remove"].pk]


def test_a_contract_validator_does_not_see_a_request_on_the_account(client, first, queue):
    contract = ContractFactory.create(account=first)
    client.force_login(contract_link(first, contract, V).user)

    assert client.get(pages(first, queue["add"])[1]).status_code == 404
    listing = client.get(pages(first, queue["add"])[0])
    assert "1987" not in listing.content.decode()


def test_the_preparer_and_the_validators_see_the_request(client, first, queue):
    client.force_login(queue["validator"])
    listing, detail = pages(first, queue["add"])
    assert [r.pk for r in client.get(listing).context["to_decide"]] == [
        queue["add"].pk,
        queue["remove"].pk,
    ]
    assert "nadia.roy@boreal.example" in client.get(detail).content.decode()

    client.force_login(queue["preparer"])
    assert len(client.get(listing).context["mine"]) == 2
    assert client.get(detail).status_code == 200


def test_a_preparer_who_lost_the_right_still_sees_what_they_prepared(client, first, queue):
    AccountLink.objects.filter(user=queue["preparer"]).update(is_administrator=False)
    client.force_login(queue["preparer"])

    assert client.get(pages(first, queue["add"])[1]).status_code == 200
    assert len(client.get(pages(first, queue["add"])[0]).context["mine"]) == 2


def test_decided_requests_are_shown_to_the_same_people_only(client, first, queue):
    services.reject_request(
        actor=queue["validator"], account=first, request_id=queue["add"].pk, reason="No", ip=IP
    )
    manager = AccountLinkFactory.create(account=first, right=M).user

    client.force_login(queue["validator"])
    assert [r.pk for r in client.get(pages(first, queue["add"])[0]).context["decided"]] == [
        queue["add"].pk
    ]
    client.force_login(manager)
    assert client.get(pages(first, queue["add"])[0]).context["decided"] == []
    assert client.get(pages(first, queue["add"])[1]).status_code == 404
