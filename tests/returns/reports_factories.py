"""Rows for the forecast and report tests, made in bulk: policies, labels on their way, and the
per-day rollup (DailyReturns) as the ingestion keeps it."""

import datetime
import itertools

from accounts.models import BusinessAccount
from portal.formatting import EASTERN
from returns.models import Channel, DailyReturns, ReturnLabel, ReturnPolicy, ShippingService
from tests.returns.factories import tracking_number

PROVINCES = ("ON", "QC", "NT", "BC")
_numbers = itertools.count(50_000_000)


def eastern(day: datetime.date, hour: int = 12, minute: int = 0) -> datetime.datetime:
    """A moment of an Eastern calendar day."""
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=EASTERN)


def bulk_policies(account: BusinessAccount, count: int) -> list[ReturnPolicy]:
    """`count` inactive policies (no payment needed) to every province in turn, every service."""
    services = list(ShippingService)
    return ReturnPolicy.objects.bulk_create(
        ReturnPolicy(
            account=account,
            name=f"Policy {n}",
            channel=Channel.ONLINE,
            service=services[n % len(services)],
            return_name="Returns",
            return_street="1 Main Street",
            return_city="Somewhere",
            return_province=PROVINCES[n % len(PROVINCES)],
            return_postal_code="K1A 0B1",
            status=ReturnPolicy.Status.INACTIVE,
        )
        for n in range(count)
    )


def label(
    policy: ReturnPolicy,
    state: str,
    accepted_at: datetime.datetime | None,
    service: str | None = None,
) -> ReturnLabel:
    """A label (not saved) of `policy` in `state`, dropped off at `accepted_at`."""
    return ReturnLabel(
        policy=policy,
        account_id=policy.account_id,
        tracking_number=tracking_number(next(_numbers)),
        channel=Channel.ONLINE,
        service=service or policy.service,
        customer_name="A customer",
        customer_email="customer@shopper.example",
        order_reference="ORDER-1",
        from_street="100 Queen Street",
        from_city="Ottawa",
        from_province="ON",
        from_postal_code="K1P 1J9",
        state=state,
        return_province=policy.return_province,  # printed on the label, as issuing does
        issued_at=accepted_at or eastern(datetime.date(2025, 1, 1)),
        accepted_at=accepted_at,
    )


def bulk_labels(
    policies: list[ReturnPolicy], per_policy: int, today: datetime.date
) -> list[ReturnLabel]:
    """`per_policy` labels under each policy, dropped off over the last two weeks, in every
    state the forecast reads and some it ignores."""
    states = [
        ReturnLabel.State.ACCEPTED,
        ReturnLabel.State.IN_TRANSIT,
        ReturnLabel.State.EXCEPTION,
        ReturnLabel.State.DELIVERED,
        ReturnLabel.State.ISSUED,
    ]
    rows = []
    for n, (policy, _k) in enumerate(itertools.product(policies, range(per_policy))):
        state = states[n % len(states)]
        dropped = eastern(today - datetime.timedelta(days=n % 14), hour=8 + n % 12)
        rows.append(label(policy, state, None if state == ReturnLabel.State.ISSUED else dropped))
    return ReturnLabel.objects.bulk_create(rows, batch_size=2000)


def rollup(account: BusinessAccount, per_day: dict[datetime.date, int]) -> None:
    """The rollup rows of `account`: returns delivered per Eastern day."""
    DailyReturns.objects.bulk_create(
        DailyReturns(account=account, day=day, delivered=count, accepted=count)
        for day, count in per_day.items()
    )
