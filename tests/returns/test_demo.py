"""seed_demo's returns: every demo account gets an active return policy that its account can pay
(Maple Leaf's agreement, which is billed to account; the others' card, since they pay when
ordering), with a direct link, and labels with their tracking events behind the reports; running
it again adds nothing."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum

from accounts.models import BusinessAccount
from returns.models import DailyReturns, ReturnLabel, ReturnPolicy, TrackingEvent
from returns.services.policies import payment_usable
from tests.billing import conftest as billing_fixtures

pytestmark = pytest.mark.django_db
# Billing's localstripe: the demo's cards are saved there.
localstripe_base = billing_fixtures.localstripe_base
stripe_api = billing_fixtures.stripe_api

MAPLE_LEAF, PRAIRIE_POTTERY, COTE_NORD, BOREAL = (
    "0001234567",
    "0002468135",
    "0001357924",
    "0007654321",
)


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts() -> list[int]:
    return [m.objects.count() for m in (ReturnPolicy, ReturnLabel, TrackingEvent, DailyReturns)]


def test_every_demo_account_has_an_active_policy_it_can_pay_and_returns_behind_it(stripe_api):
    printed = seed()
    first = counts()
    seed()

    assert counts() == first
    for number in (MAPLE_LEAF, PRAIRIE_POTTERY, COTE_NORD, BOREAL):
        account = BusinessAccount.objects.get(customer_number=number)
        policy = ReturnPolicy.objects.filter(account=account).order_by("pk").first()
        assert policy is not None and policy.status == ReturnPolicy.Status.ACTIVE, number
        assert payment_usable(
            account, contract_id=policy.contract_id, payment_method_id=policy.payment_method_id
        ), number
        assert (policy.contract_id is not None) == (number == MAPLE_LEAF), number
        assert f"/return/{policy.link_token}/" in printed
        labels = ReturnLabel.objects.filter(account=account)
        assert labels.count() >= 20, number
        delivered = TrackingEvent.objects.filter(account=account, kind="DELIVERED").count()
        rollup = DailyReturns.objects.filter(account=account).aggregate(n=Sum("delivered"))["n"]
        assert delivered > 0 and rollup == delivered, number
    assert TrackingEvent.objects.filter(kind="EXCEPTION").exists()
