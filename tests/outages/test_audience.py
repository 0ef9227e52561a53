"""Who a window on an account capability concerns comes from the audiences apps register
(outages.audience); outages itself reads no app's tables."""

import pytest

from outages import audience, selectors
from tests.accounts.link_factories import AccountLinkFactory
from tests.factories import UserFactory
from tests.outages.factories import InterruptionFactory

pytestmark = pytest.mark.django_db


def _window(*features: str):
    return InterruptionFactory.create(features=list(features)).window


def test_accounts_registers_the_people_acting_for_an_account():
    linked = AccountLinkFactory().user
    UserFactory()  # acts for no business account

    assert list(selectors.users_touched_by(_window("delegated_users"))) == [linked]


def test_without_an_audience_an_account_capability_concerns_nobody(monkeypatch):
    AccountLinkFactory()
    monkeypatch.setattr(audience, "_audiences", [])

    assert list(selectors.users_touched_by(_window("online_payment"))) == []


def test_the_audiences_are_added_together_and_registered_once(monkeypatch):
    first, second = UserFactory(), UserFactory()
    UserFactory()  # named by no audience
    monkeypatch.setattr(audience, "_audiences", [])

    def billing(features):
        return type(first).objects.filter(pk=first.pk if "online_payment" in features else 0)

    def returns(features):
        return type(second).objects.filter(pk=second.pk)

    for hook in (billing, returns, billing):
        audience.register_audience(hook)

    assert audience._audiences == [billing, returns]
    assert set(selectors.users_touched_by(_window("online_payment"))) == {first, second}
    assert list(selectors.users_touched_by(_window("return_labels"))) == [second]


def test_a_capability_everyone_uses_concerns_every_notifiable_user(monkeypatch):
    monkeypatch.setattr(audience, "_audiences", [])
    users = [UserFactory(), UserFactory()]

    assert list(selectors.users_touched_by(_window("sign_in"))) == users
