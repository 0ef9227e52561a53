"""accounts.rights with grants per account and per contract: the table of who may do what where,
the profiles as presets, and query counts that do not grow with accounts, users or grants."""

import pytest
from django.http import Http404
from django.test import RequestFactory
from django.urls import reverse

from accounts import rights
from accounts.models import AccountLink, BusinessAccount, Contract, Grant, User
from accounts.rights import Right
from accounts.rightsets import EDITABLE_PROFILES, PROFILE_LEVELS, Profile, RightSet
from outages import gate
from tests.accounts.delegation_factories import administrator
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

C, M, V = Right.CONSULT, Right.MANAGE, Right.VALIDATE


@pytest.fixture
def business() -> tuple[BusinessAccount, Contract, Contract]:
    account = BusinessAccountFactory.create()
    return account, ContractFactory.create(account=account), ContractFactory.create(account=account)


def give(account: BusinessAccount, levels: dict[str | None, Right], contracts: dict) -> AccountLink:
    """A user linked to `account` with `levels` on None (whole account), "c1" or "c2"."""
    link = AccountLinkFactory.create(account=account, right=0)
    for target, level in levels.items():
        Grant.objects.create(link=link, contract=contracts.get(target), level=level)
    return link


def profile(name: str, *untick: str | None) -> dict[str | None, Right]:
    """A profile's preset over (whole, c1, c2), with some lines unticked as the page allows."""
    level = PROFILE_LEVELS[name]
    return {target: level for target in (None, "c1", "c2") if target not in untick}


# (what the user holds, the level asked, where) -> allowed
TABLE = [
    (profile(Profile.EXECUTIVE), V, "account", True),
    (profile(Profile.EXECUTIVE), V, "c2", True),
    (profile(Profile.ACCOUNTANT), C, "account", True),
    (profile(Profile.ACCOUNTANT), C, "c1", True),
    (profile(Profile.ACCOUNTANT), M, "account", False),
    (profile(Profile.ACCOUNTANT), M, "c1", False),
    (profile(Profile.PREPARER), M, "account", True),
    (profile(Profile.PREPARER), M, "c2", True),
    (profile(Profile.PREPARER), V, "account", False),
    (profile(Profile.PREPARER), V, "c1", False),
    (profile(Profile.VALIDATOR), V, "c1", True),
    # The validator profile with the whole account and contract 2 unticked: contract 1 only.
    (profile(Profile.VALIDATOR, None, "c2"), V, "c1", True),
    (profile(Profile.VALIDATOR, None, "c2"), C, "c2", False),
    (profile(Profile.VALIDATOR, None, "c2"), C, "account", False),
    ({"c1": M}, M, "c1", True),
    ({"c1": M}, V, "c1", False),
    ({"c1": M}, C, "c2", False),
    ({None: C, "c1": V}, V, "c1", True),
    ({None: C, "c1": V}, C, "c2", True),
    ({None: C, "c1": V}, M, "c2", False),
    ({None: C, "c1": V}, M, "account", False),
    ({}, C, "account", False),
]


@pytest.mark.parametrize("held, asked, where, allowed", TABLE)
def test_the_rights_table(business, held, asked, where, allowed):
    account, c1, c2 = business
    contracts = {"c1": c1, "c2": c2}
    link = give(account, held, contracts)
    target = account if where == "account" else contracts[where]

    assert rights.can(link.user, asked, target) is allowed
    assert rights.summary_for(link.user).can(asked, target) is allowed
    if where != "account":
        assert (target in rights.contracts_for(link.user, asked, account)) is allowed
    else:
        assert (account in rights.accounts_for(link.user, asked, whole=True)) is allowed


def test_a_contract_right_reaches_the_account_but_not_the_whole_of_it(business):
    account, c1, _c2 = business
    link = give(account, {"c1": M}, {"c1": c1})

    assert list(rights.accounts_for(link.user, M)) == [account]
    assert not rights.accounts_for(link.user, M, whole=True).exists()
    assert rights.get_account_or_404(link.user, M, account.pk) == account
    with pytest.raises(Http404):
        rights.get_account_or_404(link.user, M, account.pk, whole=True)


def test_a_contract_of_another_business_is_never_covered(business):
    account, _c1, _c2 = business
    link = give(account, {None: V}, {})
    foreign = ContractFactory.create()

    assert rights.can(link.user, C, foreign) is False
    assert rights.summary_for(link.user).can(C, foreign) is False
    assert not rights.contracts_for(link.user, C, foreign.account).exists()


def test_administration_is_a_flag_apart_from_the_levels(business):
    account, _c1, _c2 = business
    admin = administrator(account, level=C)
    validator = AccountLinkFactory.create(account=account, right=V)

    assert rights.is_administrator(admin.user, account) is True
    assert rights.is_administrator(validator.user, account) is False
    assert rights.summary_for(admin.user).is_administrator(account) is True
    with pytest.raises(Http404):
        rights.get_administered_account_or_404(validator.user, account.pk)
    with pytest.raises(Http404):  # administrator, but not with MANAGE on the whole account
        rights.get_administered_account_or_404(admin.user, account.pk, M)


def test_a_removed_link_keeps_its_grants_as_history_but_grants_nothing(business):
    account, _c1, _c2 = business
    link = AccountLinkFactory.create(account=account, right=V, is_administrator=True)
    AccountLinkFactory.create(account=account, right=V, is_administrator=True)
    link.status, link.removed_at = AccountLink.Status.REMOVED, link.created_at
    link.save()

    assert Grant.objects.filter(link=link).exists()
    assert rights.can(link.user, C, account) is False
    assert rights.is_administrator(link.user, account) is False
    assert rights.summary_for(link.user).accounts == {}


@pytest.mark.parametrize(
    "name, whole, editable",
    [
        (Profile.EXECUTIVE, V, False),
        (Profile.ACCOUNTANT, C, False),
        (Profile.PREPARER, M, True),
        (Profile.VALIDATOR, V, True),
    ],
)
def test_profiles_preset_every_line(business, name, whole, editable):
    _account, c1, c2 = business
    preset = RightSet.from_profile(name, [c1, c2])

    assert dict(preset.levels) == {None: whole, c1.pk: whole, c2.pk: whole}
    assert dict(preset.normalised().levels) == {None: whole}  # the account covers its contracts
    assert (name in EDITABLE_PROFILES) is editable


def test_a_preset_is_capped_to_what_the_administrator_holds(business):
    account, c1, c2 = business
    link = give(account, {None: M, "c1": V}, {"c1": c1})
    held = rights.of_user(link.user, account)
    preset = RightSet.from_profile(Profile.VALIDATOR, [c1, c2])

    assert dict(preset.capped_by(held).levels) == {None: M, c1.pk: V, c2.pk: M}
    assert preset.beyond(held) == [None]  # VALIDATE on the whole account is not theirs to give


# --- query counts ------------------------------------------------------------------------------


def _many_accounts(user: User, count: int) -> None:
    accounts = BusinessAccount.objects.bulk_create(
        BusinessAccountFactory.build(customer_number=f"{5_000_000_000 + i:010d}")
        for i in range(count)
    )
    links = AccountLink.objects.bulk_create(
        AccountLink(user=user, account=account, is_administrator=i % 2 == 0)
        for i, account in enumerate(accounts)
    )
    Grant.objects.bulk_create(Grant(link=link, level=M) for link in links)


@pytest.mark.parametrize("count", [10, 1000])
def test_questions_cost_one_query_however_many_accounts(django_assert_num_queries, count):
    user = UserFactory.create()
    _many_accounts(user, count)
    account = BusinessAccount.objects.order_by("pk").last()
    assert account is not None

    with django_assert_num_queries(1):
        summary = rights.summary_for(user)
    with django_assert_num_queries(1):
        reached = list(rights.accounts_for(user, M))
    with django_assert_num_queries(1):
        assert rights.can(user, M, account) is True
    with django_assert_num_queries(0):
        assert all(summary.can(M, each) for each in reached)

    assert len(summary.accounts) == len(reached) == count


@pytest.mark.parametrize("count", [10, 1000])
def test_contract_grants_cost_one_query_however_many(django_assert_num_queries, count):
    account = BusinessAccountFactory.create()
    contracts = Contract.objects.bulk_create(
        ContractFactory.build(account=account, number=f"{6_000_000_000 + i:010d}")
        for i in range(count)
    )
    link = AccountLinkFactory.create(account=account, right=0)
    Grant.objects.bulk_create(Grant(link=link, contract=c, level=V) for c in contracts)

    with django_assert_num_queries(1):
        assert rights.contracts_for(link.user, V, account).count() == count
    with django_assert_num_queries(1):
        assert len(rights.summary_for(link.user).of(account).contracts) == count


def test_the_request_summary_is_read_once_per_request(django_assert_num_queries):
    link = AccountLinkFactory.create(right=V)
    request = RequestFactory().get("/")
    request.user = link.user

    with django_assert_num_queries(1):
        for _ in range(5):
            assert rights.for_request(request).can(M, link.account)


def _many_users(account: BusinessAccount, count: int) -> None:
    users = User.objects.bulk_create(
        User(username=f"u{i}@many.example", email=f"u{i}@many.example") for i in range(count)
    )
    links = AccountLink.objects.bulk_create(AccountLink(user=u, account=account) for u in users)
    Grant.objects.bulk_create(Grant(link=link, level=C) for link in links)


@pytest.mark.parametrize("count", [10, 1000])
def test_the_users_page_does_not_grow_with_users(client, django_assert_num_queries, count):
    account = BusinessAccountFactory.create()
    ContractFactory.create(account=account)
    admin = administrator(account)
    _many_users(account, count)
    client.force_login(admin.user)
    gate.snapshot()

    # session, user, the administered account, contracts, the rights summary, the page's count
    # and rows, the grants of those rows, the pending requests
    with django_assert_num_queries(9):
        response = client.get(reverse("accounts:users", args=[account.pk]))

    assert response.status_code == 200
    assert len(response.context["rows"]) == min(50, count + 1)


@pytest.mark.parametrize("count", [10, 1000])
def test_home_does_not_grow_with_accounts(client, django_assert_num_queries, count):
    user = UserFactory.create()
    _many_accounts(user, count)
    client.force_login(user)
    gate.snapshot()

    with django_assert_num_queries(5):  # session, user, count, a page of accounts, rights
        response = client.get(reverse("home"))

    assert response.status_code == 200
    assert len(response.context["accounts"]) == min(count, 25)
    assert response.context["page"].paginator.count == count
