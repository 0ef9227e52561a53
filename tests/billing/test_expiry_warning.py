"""Beyond the help page: the billing page warns before a card expires, naming what it would stop."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from accounts.rights import Right
from returns.models import ReturnPolicy
from tests.accounts.factories import BusinessAccountFactory
from tests.accounts.link_factories import AccountLinkFactory
from tests.billing.factories import CardFactory

pytestmark = pytest.mark.django_db


def _policy(card):
    return ReturnPolicy.objects.create(
        account=card.account,
        name="Boutique",
        channel="ONLINE",
        service="EXPEDITED_PARCEL",
        return_name="Returns desk",
        return_street="150 Main Street",
        return_city="Winnipeg",
        return_province="MB",
        return_postal_code="R3C 4T3",
        payment_method=card,
        status=ReturnPolicy.Status.ACTIVE,
    )


@time_machine.travel(datetime.datetime(2026, 12, 5, 15, tzinfo=datetime.UTC), tick=False)
def test_a_card_expiring_within_thirty_days_is_announced_with_the_policies_it_would_stop(client):
    account = BusinessAccountFactory.create(kind="SMALL_BUSINESS")
    expiring = CardFactory.create(account=account, exp_month=12, exp_year=2026, is_default=True)
    CardFactory.create(account=account, exp_month=6, exp_year=2027, last4="1881")
    policy = _policy(expiring)
    client.force_login(AccountLinkFactory.create(account=account, right=Right.CONSULT).user)

    page = client.get(reverse("billing:overview", args=[account.pk])).content.decode()

    assert "<strong>Visa ending in 4242</strong> expires at the end of 12/2026." in page
    assert f"Return policy “Boutique” ({policy.reference})" in page
    assert "ending in 1881</strong> expires" not in page


@time_machine.travel(datetime.datetime(2026, 10, 30, 15, tzinfo=datetime.UTC), tick=False)
def test_a_card_valid_beyond_thirty_days_brings_no_warning(client):
    account = BusinessAccountFactory.create(kind="SMALL_BUSINESS")
    CardFactory.create(account=account, exp_month=12, exp_year=2026, is_default=True)
    client.force_login(AccountLinkFactory.create(account=account, right=Right.CONSULT).user)

    page = client.get(reverse("billing:overview", args=[account.pk])).content.decode()

    assert "expires at the end of" not in page


@time_machine.travel(datetime.datetime(2026, 11, 5, 15, tzinfo=datetime.UTC), tick=False)
def test_the_warning_counts_to_the_last_day_of_the_expiry_month(client):
    """12/2026 is valid until December 31: 56 days away on November 5, so not yet."""
    account = BusinessAccountFactory.create(kind="SMALL_BUSINESS")
    CardFactory.create(account=account, exp_month=12, exp_year=2026, is_default=True)
    client.force_login(AccountLinkFactory.create(account=account, right=Right.CONSULT).user)

    page = client.get(reverse("billing:overview", args=[account.pk])).content.decode()

    assert "expires at the end of" not in page
