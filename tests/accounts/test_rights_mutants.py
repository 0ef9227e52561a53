"""accounts.rights, the cases mutation testing found unasked: anonymous callers (and no user at
all) answered without a query, removed links and other businesses kept out of every answer,
the summary read again after `forget_for_request`, actions whose target is a contract named in
their payload, and `users_holding`."""

from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.test import RequestFactory
from django.utils import timezone

from accounts import rights, validation
from accounts.models import AccountLink, BusinessAccount, Contract, Grant, ValidationRequest
from accounts.rights import Right
from accounts.validation import Action
from outages.features import Feature
from returns.actions import ACTIVATE, policy_payload
from returns.models import ReturnPolicy
from tests.accounts.delegation_factories import administrator
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.factories import UserFactory
from tests.returns.factories import ContractPolicyFactory

pytestmark = pytest.mark.django_db
C, M, V = Right.CONSULT, Right.MANAGE, Right.VALIDATE
FROZEN = time_machine.travel("2025-06-02 14:00 -0400", tick=False)


def contract_link(account: BusinessAccount, contract: Contract, level: Right, **kw: Any):
    link = AccountLinkFactory.create(account=account, right=0, **kw)
    Grant.objects.create(link=link, contract=contract, level=level)
    return link


def removed(link: AccountLink) -> AccountLink:
    link.status, link.removed_at = AccountLink.Status.REMOVED, timezone.now()
    link.save()
    return link


def _not_performed(**kwargs: Any) -> dict[str, Any]:
    raise AssertionError("never performed here")


def _the_contract(account: BusinessAccount, payload: Any) -> BusinessAccount | Contract:
    return Contract.objects.get(pk=payload["contract"])


# An action decided on the contract its payload names (as a return policy paid by an agreement).
ON_A_CONTRACT = Action(
    kind="tests.on_a_contract",
    label="On a contract",
    feature=Feature.DELEGATED_USERS,
    perform=_not_performed,
    fingerprint=lambda account, payload: "",
    target=_the_contract,
)


# --- no user, or an anonymous one: no, and without asking the database -----------------------


@pytest.mark.parametrize("nobody", [None, AnonymousUser()], ids=["no user", "anonymous"])
def test_nobody_signed_in_may_do_nothing_and_costs_no_query(nobody, django_assert_num_queries):
    account = AccountLinkFactory.create(right=V, is_administrator=True).account

    with django_assert_num_queries(0):
        assert rights.can(nobody, C, account) is False
        assert rights.is_administrator(nobody, account) is False
        assert rights.summary_for(nobody) == rights.RightsSummary()
        assert rights.summary_for_accounts(nobody, [account]) == rights.RightsSummary()
        with pytest.raises(Http404):
            rights.get_administered_account_or_404(nobody, account.pk)


def test_a_request_without_a_user_gets_an_empty_summary_without_a_query(
    django_assert_num_queries,
):
    account = AccountLinkFactory.create(right=V).account
    request = RequestFactory().get("/")  # no authentication middleware ran: no `user`

    with django_assert_num_queries(0):
        summary = rights.for_request(request)

    assert summary.can(C, account) is False
    assert summary.of(account).highest is None


# --- the per-request summary -----------------------------------------------------------------


def test_forget_for_request_makes_the_next_question_read_the_rights_again(
    django_assert_num_queries,
):
    link = AccountLinkFactory.create(right=C)
    request = RequestFactory().get("/")
    request.user = link.user
    assert rights.for_request(request).can(M, link.account) is False
    Grant.objects.filter(link=link).update(level=M)

    assert rights.for_request(request).can(M, link.account) is False  # still the one read
    rights.forget_for_request(request)
    with django_assert_num_queries(1):
        assert rights.for_request(request).can(M, link.account) is True


def test_a_request_reads_only_the_accounts_it_asks_about_each_once(django_assert_num_queries):
    link = AccountLinkFactory.create(right=M, is_administrator=True)
    other = AccountLinkFactory.create(user=link.user, right=V)
    contract = ContractFactory.create(account=other.account)
    request = RequestFactory().get("/")
    request.user = link.user
    held = rights.for_request(request)

    with django_assert_num_queries(1):
        assert held.can(M, link.account) and not held.can(V, link.account)
        assert held.is_administrator(link.account)
        assert held.of(link.account.pk).whole == M
    assert other.account.pk not in held.accounts  # never read: the page was not about it
    with django_assert_num_queries(1):
        assert held.can(V, contract)  # the contract's account, read on first question
        assert held.of(other.account).whole == V


def test_preloading_reads_every_listed_account_in_one_query(django_assert_num_queries):
    link = AccountLinkFactory.create(right=C)
    other = AccountLinkFactory.create(user=link.user, right=V, is_administrator=True)
    stranger = BusinessAccountFactory.create()
    request = RequestFactory().get("/")
    request.user = link.user
    held = rights.for_request(request)

    with django_assert_num_queries(1):
        held.preload([link.account, other.account.pk, stranger])
    with django_assert_num_queries(0):
        assert held.of(link.account).whole == C
        assert held.is_administrator(other.account) and held.can(V, other.account)
        assert held.of(stranger).highest is None  # no link: nothing, and no second query
        assert not held.is_administrator(link.account)


def test_a_removed_link_gives_a_request_no_rights_on_its_account():
    removed = AccountLinkFactory.create(right=V, is_administrator=True)
    removed.status, removed.removed_at = AccountLink.Status.REMOVED, timezone.now()
    removed.save(update_fields=["status", "removed_at"])
    request = RequestFactory().get("/")
    request.user = removed.user
    held = rights.for_request(request)

    held.preload([removed.account])

    assert held.of(removed.account).highest is None
    assert not held.can(C, removed.account) and not held.is_administrator(removed.account)


def test_an_anonymous_request_preloads_nothing(django_assert_num_queries):
    account = AccountLinkFactory.create(right=V).account
    request = RequestFactory().get("/")
    request.user = AnonymousUser()

    with django_assert_num_queries(0):
        rights.for_request(request).preload([account])
        assert rights.for_request(request).can(C, account) is False


def test_forgetting_rights_never_read_is_harmless():
    request = RequestFactory().get("/")

    rights.forget_for_request(request)

    assert rights.for_request(request) == rights.RightsSummary()


def test_the_summary_names_the_account_it_answers_for():
    link = AccountLinkFactory.create(right=M)
    elsewhere = BusinessAccountFactory.create()
    summary = rights.summary_for(link.user)

    assert rights.of_user(link.user, link.account).account_id == link.account.pk
    assert summary.of(link.account).account_id == link.account.pk
    assert summary.of(elsewhere).account_id == elsewhere.pk
    assert summary.of(elsewhere.pk).account_id == elsewhere.pk
    assert summary.of(elsewhere).highest is None


@FROZEN
def test_a_newer_link_without_grants_does_not_hide_the_older_links_rights():
    user = UserFactory.create()
    older = AccountLinkFactory.create(user=user, right=V)
    newer = AccountLinkFactory.create(user=user, right=0, is_administrator=True)

    summary = rights.summary_for(user)

    assert summary.can(V, older.account) is True
    assert summary.is_administrator(newer.account) is True
    assert summary.of(newer.account).highest is None


@FROZEN
def test_a_grant_on_a_contract_since_moved_does_not_hide_the_users_other_rights():
    user = UserFactory.create()
    older = AccountLinkFactory.create(user=user, right=M)
    account = BusinessAccountFactory.create()
    moved = ContractFactory.create(account=account)
    contract_link(account, moved, V, user=user)
    Contract.objects.filter(pk=moved.pk).update(account=BusinessAccountFactory.create())

    summary = rights.summary_for(user)

    assert summary.can(M, older.account) is True
    assert summary.of(account).contracts == {}
    assert summary.can(C, Contract.objects.get(pk=moved.pk)) is False


def test_a_summary_of_some_accounts_holds_those_accounts_through_active_links_only():
    user = UserFactory.create()
    asked = AccountLinkFactory.create(user=user, right=V).account
    not_asked = AccountLinkFactory.create(user=user, right=V).account
    gone = removed(AccountLinkFactory.create(user=user, right=V)).account

    summary = rights.summary_for_accounts(user, [asked, gone])

    assert set(summary.accounts) == {asked.pk}
    assert summary.can(V, asked) is True
    assert summary.can(C, not_asked) is False
    assert summary.can(C, gone) is False
    assert rights.of_user(user, gone).highest is None


# --- administration --------------------------------------------------------------------------


def test_an_administrator_whose_link_was_removed_administers_nothing():
    link = removed(administrator(BusinessAccountFactory.create()))

    assert rights.is_administrator(link.user, link.account) is False
    with pytest.raises(Http404):
        rights.get_administered_account_or_404(link.user, link.account.pk)


def test_administering_with_a_level_asks_it_on_the_whole_account():
    account = BusinessAccountFactory.create()
    link = administrator(account, level=C)
    Grant.objects.create(link=link, contract=ContractFactory.create(account=account), level=V)

    assert rights.get_administered_account_or_404(link.user, account.pk) == account
    assert rights.get_administered_account_or_404(link.user, account.pk, C) == account
    with pytest.raises(Http404):
        rights.get_administered_account_or_404(link.user, account.pk, V)


def test_administrators_who_validate_are_the_accounts_own():
    mine, other = BusinessAccountFactory.create_batch(2)
    here = administrator(mine)
    administrator(other)

    assert list(rights.administrators_who_validate(mine)) == [here]


# --- actions whose target is a contract named in the payload ----------------------------------


def test_may_validate_and_prepare_ask_the_right_on_the_contract_the_payload_names():
    account = BusinessAccountFactory.create()
    named, other = ContractFactory.create_batch(2, account=account)
    validator = contract_link(account, named, V).user
    manager = contract_link(account, named, M).user
    elsewhere = contract_link(account, other, V).user
    payload = {"contract": named.pk}

    assert rights.may_validate(validator, ON_A_CONTRACT, account, payload) is True
    assert rights.may_prepare(manager, ON_A_CONTRACT, account, payload) is True
    assert rights.may_validate(manager, ON_A_CONTRACT, account, payload) is False
    assert rights.may_prepare(elsewhere, ON_A_CONTRACT, account, payload) is False
    summary = rights.summary_for(validator)
    assert rights.may_validate(validator, ON_A_CONTRACT, account, payload, summary) is True


def test_the_validators_of_a_contract_action_hold_validate_on_that_contract_or_the_account():
    account = BusinessAccountFactory.create()
    named, other = ContractFactory.create_batch(2, account=account)
    on_it = contract_link(account, named, V).user
    whole = AccountLinkFactory.create(account=account, right=V).user
    contract_link(account, named, M)
    contract_link(account, other, V)

    validators = rights.validators_of(ON_A_CONTRACT, account, {"contract": named.pk})

    assert list(validators) == sorted([on_it, whole], key=lambda user: user.pk)


def _policy_request(preparer, **kwargs: Any) -> ValidationRequest:
    policy = ContractPolicyFactory.create(status=ReturnPolicy.Status.INACTIVE)
    return ValidationRequest.objects.create(
        account=policy.account,
        kind=ACTIVATE,
        payload=policy_payload(policy),
        fingerprint="-",
        prepared_by=preparer,
        **kwargs,
    )


def test_a_validator_of_the_policys_contract_decides_its_request_but_not_their_own():
    request = _policy_request(UserFactory.create())
    contract = request.account.contracts.get()
    validator = contract_link(request.account, contract, V).user
    own = _policy_request(validator)
    own_validator = contract_link(own.account, own.account.contracts.get(), V, user=validator)

    assert rights.may_decide(validator, request) is True
    assert rights.may_decide(validator, request, rights.summary_for(validator)) is True
    assert rights.may_decide(own_validator.user, own) is False


def test_a_decided_request_is_decided_by_nobody():
    request = _policy_request(UserFactory.create(), state=ValidationRequest.State.APPROVED)
    validator = AccountLinkFactory.create(account=request.account, right=V).user

    assert rights.may_decide(validator, request) is False


def test_another_business_never_validates_a_request_whose_contract_moved_to_it():
    request = _policy_request(UserFactory.create())
    contract = request.account.contracts.get()
    receiving = BusinessAccountFactory.create()
    Contract.objects.filter(pk=contract.pk).update(account=receiving)
    AccountLinkFactory.create(account=receiving, right=V)
    contract_link(receiving, contract, V)
    action = validation.action_for(ACTIVATE)

    assert not rights.validators_of(action, request.account, request.payload).exists()


# --- scope over objects on a contract ------------------------------------------------------------


def test_a_contract_grant_does_not_reach_an_object_of_its_account_once_the_contract_moved():
    """Grants are objects with an account (their link's) and a contract: the grant on a moved
    contract stays on the old account, and reaches nothing there."""
    account = BusinessAccountFactory.create()
    contract = ContractFactory.create(account=account)
    link = contract_link(account, contract, V)
    Contract.objects.filter(pk=contract.pk).update(account=BusinessAccountFactory.create())

    reached = rights.scope(
        Grant.objects.all(), link.user, C, account_field="link__account", contract_field="contract"
    )

    assert not reached.exists()


# --- users_holding -----------------------------------------------------------------------------


def test_users_holding_a_level_on_an_account_hold_it_on_the_whole_of_it():
    account = BusinessAccountFactory.create()
    manager = AccountLinkFactory.create(account=account, right=M).user
    validator = AccountLinkFactory.create(account=account, right=V).user
    AccountLinkFactory.create(account=account, right=C)
    contract_link(account, ContractFactory.create(account=account), V)
    removed(AccountLinkFactory.create(account=account, right=V))
    AccountLinkFactory.create(account=account, right=V, user=UserFactory.create(is_active=False))
    AccountLinkFactory.create(right=V)  # another business

    assert list(rights.users_holding(M, account)) == sorted(
        [manager, validator], key=lambda user: user.pk
    )
    assert list(rights.users_holding(V, account)) == [validator]


def test_users_holding_a_level_on_a_contract_hold_it_there_or_on_the_whole_account(
    django_assert_num_queries,
):
    account = BusinessAccountFactory.create()
    contract, other = ContractFactory.create_batch(2, account=account)
    whole = AccountLinkFactory.create(account=account, right=M).user
    on_it = contract_link(account, contract, V).user
    contract_link(account, other, V)
    contract_link(account, contract, C)
    AccountLinkFactory.create(right=V)  # another business

    with django_assert_num_queries(1):
        holding = list(rights.users_holding(M, contract))

    assert holding == sorted([whole, on_it], key=lambda user: user.pk)
    assert list(rights.users_holding(V, contract)) == [on_it]


def test_nobody_holds_a_level_on_a_contract_through_a_grant_written_before_it_moved():
    account, receiving = BusinessAccountFactory.create_batch(2)
    contract = ContractFactory.create(account=account)
    contract_link(account, contract, V)
    AccountLinkFactory.create(account=account, right=V)
    Contract.objects.filter(pk=contract.pk).update(account=receiving)
    now_there = AccountLinkFactory.create(account=receiving, right=V).user

    assert list(rights.users_holding(C, Contract.objects.get(pk=contract.pk))) == [now_there]
