"""accounts.rights: the one answer to "may this user do this here?", both sides of each case."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.utils import timezone

from accounts import rights
from accounts.models import AccountLink
from accounts.rights import Right
from tests.accounts.factories import BusinessAccountFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_levels_are_ordered_so_each_includes_the_ones_below():
    assert Right.CONSULT < Right.MANAGE < Right.VALIDATE


@pytest.mark.parametrize(
    "granted, asked, allowed",
    [
        (Right.CONSULT, Right.CONSULT, True),
        (Right.CONSULT, Right.MANAGE, False),
        (Right.MANAGE, Right.CONSULT, True),
        (Right.MANAGE, Right.MANAGE, True),
        (Right.MANAGE, Right.VALIDATE, False),
        (Right.VALIDATE, Right.MANAGE, True),
        (Right.VALIDATE, Right.VALIDATE, True),
    ],
)
def test_can_follows_the_level_order(granted, asked, allowed):
    link = AccountLinkFactory.create(right=granted)

    assert rights.can(link.user, asked, link.account) is allowed
    assert (link.account in rights.accounts_for(link.user, asked)) is allowed


def test_another_business_is_never_reachable():
    mine, other = AccountLinkFactory.create(), BusinessAccountFactory.create()

    assert rights.can(mine.user, Right.CONSULT, other) is False
    assert list(rights.accounts_for(mine.user)) == [mine.account]
    with pytest.raises(Http404):
        rights.get_account_or_404(mine.user, Right.CONSULT, other.pk)
    assert rights.get_account_or_404(mine.user, Right.CONSULT, mine.account.pk) == mine.account


def test_a_missing_account_and_a_forbidden_one_get_the_same_404():
    link = AccountLinkFactory.create(right=Right.CONSULT)

    for account_id in (link.account.pk, 999_999):
        level = Right.MANAGE if account_id == link.account.pk else Right.CONSULT
        with pytest.raises(Http404):
            rights.get_account_or_404(link.user, level, account_id)


def test_a_removed_link_grants_nothing():
    link = AccountLinkFactory.create(right=Right.VALIDATE)
    link.status, link.removed_at = AccountLink.Status.REMOVED, timezone.now()
    link.save()

    assert rights.can(link.user, Right.CONSULT, link.account) is False
    assert not rights.accounts_for(link.user).exists()


def test_another_users_link_grants_nothing():
    link = AccountLinkFactory.create(right=Right.VALIDATE)

    assert rights.can(UserFactory.create(), Right.CONSULT, link.account) is False


def test_anonymous_reaches_nothing():
    AccountLinkFactory.create()

    assert not rights.accounts_for(AnonymousUser()).exists()


def test_accounts_for_is_one_query_however_many_links(django_assert_num_queries):
    user = UserFactory.create()
    for _ in range(15):
        AccountLinkFactory.create(user=user, right=Right.MANAGE)

    with django_assert_num_queries(1):
        accounts = list(rights.accounts_for(user, Right.MANAGE))

    assert len(accounts) == 15
