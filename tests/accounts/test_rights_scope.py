"""rights.scope: any app's objects narrowed to what the user reaches, in one query. An object of
the account itself needs a grant on the whole account; an object on a contract is reached
through its contract's grant or the whole account's; an object whose contract is empty needs the
whole account again. Both sides of every grant, as the house asks."""

import pytest
from django.contrib.auth.models import AnonymousUser

from accounts import rights
from accounts.models import AccountLink, Contract, Grant, PreRegistration
from accounts.rights import Right
from tests.accounts.delegation_factories import PreRegistrationFactory
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
C, M, V = Right.CONSULT, Right.MANAGE, Right.VALIDATE


@pytest.fixture
def mine():
    return BusinessAccountFactory.create(legal_name="Boréal Distribution Ltée")


@pytest.fixture
def other():
    return BusinessAccountFactory.create(legal_name="Northern Freight Co.")


def contract_link(account, contract, level, **kwargs) -> AccountLink:
    link = AccountLinkFactory.create(account=account, right=0, **kwargs)
    Grant.objects.create(link=link, contract=contract, level=level)
    return link


def pks(queryset):
    return sorted(queryset.values_list("pk", flat=True))


# --- objects of the account itself ----------------------------------------------------------------


def test_an_account_object_is_reached_with_a_whole_account_grant_only(mine, other):
    here = PreRegistrationFactory.create(account=mine)
    PreRegistrationFactory.create(account=other)
    whole = AccountLinkFactory.create(account=mine, right=M).user
    on_contract = contract_link(mine, ContractFactory.create(account=mine), V).user
    everything = PreRegistration.objects.all()

    assert pks(rights.scope(everything, whole, C)) == [here.pk]
    assert pks(rights.scope(everything, whole, M)) == [here.pk]
    assert pks(rights.scope(everything, whole, V)) == []  # a level above the grant
    assert pks(rights.scope(everything, on_contract, C)) == []  # a contract is not the account


def test_nobody_else_reaches_an_account_object(mine, other):
    PreRegistrationFactory.create(account=mine)
    removed = AccountLinkFactory.create(
        account=mine, right=V, status=AccountLink.Status.REMOVED, removed_at="2025-01-01T00:00Z"
    )
    elsewhere = AccountLinkFactory.create(account=other, right=V).user
    everything = PreRegistration.objects.all()

    assert pks(rights.scope(everything, removed.user, C)) == []
    assert pks(rights.scope(everything, elsewhere, C)) == []
    assert pks(rights.scope(everything, UserFactory.create(), C)) == []
    assert pks(rights.scope(everything, AnonymousUser(), C)) == []


# --- objects on a contract ------------------------------------------------------------------------


def test_an_object_on_a_contract_is_reached_through_its_contract_or_the_whole_account(mine, other):
    first, second = ContractFactory.create_batch(2, account=mine)
    ContractFactory.create(account=other)
    on_first = contract_link(mine, first, M).user
    whole = AccountLinkFactory.create(account=mine, right=C).user
    contracts = Contract.objects.all()

    assert pks(rights.scope(contracts, on_first, C, contract_field="pk")) == [first.pk]
    assert pks(rights.scope(contracts, on_first, M, contract_field="pk")) == [first.pk]
    assert pks(rights.scope(contracts, on_first, V, contract_field="pk")) == []
    assert pks(rights.scope(contracts, whole, C, contract_field="pk")) == [first.pk, second.pk]
    assert pks(rights.scope(contracts, whole, M, contract_field="pk")) == []


def test_a_contract_grant_reaches_nothing_once_its_contract_moved(mine, other):
    contract = ContractFactory.create(account=mine)
    user = contract_link(mine, contract, V).user
    Contract.objects.filter(pk=contract.pk).update(account=other)

    assert pks(rights.scope(Contract.objects.all(), user, C, contract_field="pk")) == []


def test_an_object_without_contract_needs_the_whole_account(mine):
    """Grants are objects with an account (through their link) and an optional contract."""
    contract = ContractFactory.create(account=mine)
    on_contract = contract_link(mine, contract, V)
    whole = AccountLinkFactory.create(account=mine, right=C)
    grants = Grant.objects.all()
    on_the_contract = Grant.objects.get(link=on_contract).pk
    on_the_account = Grant.objects.get(link=whole).pk

    def reached(user):
        return pks(
            rights.scope(grants, user, C, account_field="link__account", contract_field="contract")
        )

    assert reached(on_contract.user) == [on_the_contract]  # not the whole-account one
    assert reached(whole.user) == sorted([on_the_contract, on_the_account])


def test_scope_is_one_query_however_many_grants_and_objects(mine, other, django_assert_num_queries):
    contracts = ContractFactory.create_batch(6, account=mine)
    link = AccountLinkFactory.create(account=mine, right=0)
    for contract in contracts[:4]:
        Grant.objects.create(link=link, contract=contract, level=M)
    AccountLinkFactory.create(account=other, user=link.user, right=V)
    ContractFactory.create_batch(3, account=other)

    with django_assert_num_queries(1):
        found = list(rights.scope(Contract.objects.all(), link.user, C, contract_field="pk"))

    assert len(found) == 4 + 3
