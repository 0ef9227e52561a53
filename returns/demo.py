# ruff: noqa: RUF001 - French names take the typographic apostrophe
"""Returns for the demo accounts (run by seed_demo after billing's history).

Every demo account gets active return policies, each with a direct link: Maple Leaf's paid by its
agreement (it is billed to account), the others' by their card (they pay when ordering; without
localstripe there is no card, and their policy stays inactive). Every label billing
charged in its demo history ("label:<tracking number>") becomes a real label with its tracking
events: dropped off, in transit, delivered a few business days later (a few with an exception
first), the latest still on their way so the forecast has something to show. The per-day rollup
is rebuilt from the events in one aggregate query per account.

Idempotent: labels and events have fixed numbers and times (drawn from generators seeded by the
tracking number), and what exists is left as it is.
"""

import datetime
import random
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from accounts.models import BusinessAccount
from billing.models import RETURN_LABEL_SOURCE, Charge, PaymentMethod
from portal.demo import register_demo_seeder
from portal.formatting import EASTERN
from returns.models import (
    Channel,
    DailyReturns,
    NotificationRecipient,
    ReturnLabel,
    ReturnPolicy,
    ShippingService,
    TrackingEvent,
)
from returns.services.labels import printed_from
from returns.services.policies import paying_contracts

MAPLE_LEAF, PRAIRIE_POTTERY, COTE_NORD, BOREAL = (
    "0001234567",
    "0002468135",
    "0001357924",
    "0007654321",
)
CUSTOMERS = [
    ("Léa Tremblay", "Québec", "QC", "G1R 4P5"),
    ("Noah Wilson", "Toronto", "ON", "M5V 2T6"),
    ("Chloé Gagnon", "Montréal", "QC", "H2X 1Y4"),
    ("Liam MacDonald", "Halifax", "NS", "B3H 1A1"),
    ("Emma Roy", "Ottawa", "ON", "K1P 5J9"),
    ("Jacob Singh", "Calgary", "AB", "T2P 1J9"),
    ("Olivia Chen", "Vancouver", "BC", "V6B 1A1"),
    ("William Côté", "Sherbrooke", "QC", "J1H 1J9"),
    ("Ava Martin", "Winnipeg", "MB", "R3C 0A1"),
    ("Mia Bouchard", "Moncton", "NB", "E1C 1A1"),
]
STREETS = ["12 King Street", "450 rue Saint-Jean", "88 Water Street", "1010 Main Street"]
# name, channel, service, status; the first is the one billing's labels were issued under
POLICIES: dict[str, list[tuple[str, str, str, str]]] = {
    MAPLE_LEAF: [
        ("Everyday returns", Channel.BOTH, ShippingService.EXPEDITED_PARCEL, "ACTIVE"),
        ("Holiday exchanges", Channel.POST_OFFICE, ShippingService.XPRESSPOST, "INACTIVE"),
    ],
    PRAIRIE_POTTERY: [
        ("Pottery returns", Channel.ONLINE, ShippingService.REGULAR_PARCEL, "ACTIVE")
    ],
    COTE_NORD: [("Retours de l’atelier", Channel.BOTH, ShippingService.REGULAR_PARCEL, "ACTIVE")],
    BOREAL: [("Retours Boréal", Channel.BOTH, ShippingService.PRIORITY, "ACTIVE")],
}
TRANSIT = {"REGULAR_PARCEL": 6, "EXPEDITED_PARCEL": 4, "XPRESSPOST": 2, "PRIORITY": 1}


def register() -> None:
    register_demo_seeder("returns", seed, order=30)


def seed() -> list[str]:
    accounts = BusinessAccount.objects.in_bulk(list(POLICIES), field_name="customer_number")
    now = timezone.now()
    lines = ["", "Returns (each account's Returns page; the direct links work signed out):"]
    for number, specs in POLICIES.items():
        account = accounts.get(number)
        if account is None:
            continue
        policies = [_policy(account, *spec) for spec in specs]
        labels = _labels_of_charges(account, policies[0], now)
        _rebuild_rollup(account)
        path = reverse("returns:direct_link", args=[policies[0].link_token])
        link = f"{settings.PORTAL_BASE_URL.rstrip('/')}{path}"
        lines.append(
            f"  {account.legal_name}: {len(policies)} polic{'y' if len(policies) == 1 else 'ies'},"
            f" {labels} labels over the year; direct link {link}"
        )
    if MAPLE_LEAF in accounts:
        _recipients(accounts[MAPLE_LEAF])
    return lines


def _policy(
    account: BusinessAccount, name: str, channel: str, service: str, status: str
) -> ReturnPolicy:
    found = ReturnPolicy.objects.filter(account=account, name=name).first()
    if found is not None:
        return found
    contract = paying_contracts(account).first()
    card = None
    if contract is None:
        card = PaymentMethod.objects.filter(
            account=account, kind=PaymentMethod.Kind.CARD, status=PaymentMethod.Status.ACTIVE
        ).first()
    return ReturnPolicy.objects.create(
        account=account,
        name=name,
        channel=channel,
        service=service,
        return_name=f"{account.legal_name}, returns",
        return_street=account.street_address,
        return_city=account.city,
        return_province=account.province,
        return_postal_code=account.postal_code,
        contract=contract,
        payment_method=card,
        instructions="Pack the item in its original box and include the packing slip.",
        return_window_days=60,
        # Without an agreement or a card (localstripe was not running) it cannot be active.
        status=status if (contract or card) else ReturnPolicy.Status.INACTIVE,
    )


def _labels_of_charges(
    account: BusinessAccount, policy: ReturnPolicy, now: datetime.datetime
) -> int:
    """A label, with its events, for each label charge of billing's demo history."""
    charges = Charge.objects.filter(
        account=account, source_reference__startswith=RETURN_LABEL_SOURCE
    )
    known = set(
        ReturnLabel.objects.filter(account=account).values_list("tracking_number", flat=True)
    )
    labels, events = [], []
    for source, charged_at in charges.values_list("source_reference", "charged_at"):
        number = source.removeprefix(RETURN_LABEL_SOURCE)
        if number in known:
            continue
        label, its_events = _label(account, policy, number, charged_at, now)
        labels.append(label)
        events.append(its_events)
    ReturnLabel.objects.bulk_create(labels, batch_size=500)
    rows = [
        TrackingEvent(label=label, account=account, applied_at=now, **event)
        for label, its_events in zip(labels, events, strict=True)
        for event in its_events
    ]
    TrackingEvent.objects.bulk_create(rows, batch_size=1000)
    return ReturnLabel.objects.filter(account=account).count()


def _label(
    account: BusinessAccount,
    policy: ReturnPolicy,
    number: str,
    accepted: datetime.datetime,
    now: datetime.datetime,
) -> tuple[ReturnLabel, list[dict[str, Any]]]:
    rng = random.Random(number)
    name, city, province, postal = rng.choice(CUSTOMERS)
    events = [{"kind": "ACCEPTED", "occurred_at": accepted, "place": city}]
    transit = datetime.timedelta(days=1, hours=rng.randint(2, 8))
    if accepted + transit < now:
        events.append(
            {"kind": "IN_TRANSIT", "occurred_at": accepted + transit, "place": "Mississauga"}
        )
    delay = TRANSIT[policy.service] + (3 if rng.random() < 0.04 else 0)
    if delay > TRANSIT[policy.service]:  # a few go astray first
        stuck = accepted + datetime.timedelta(days=2, hours=3)
        if stuck < now:
            events.append({"kind": "EXCEPTION", "occurred_at": stuck, "place": "Mississauga"})
    delivered = accepted + datetime.timedelta(days=delay, hours=rng.randint(1, 6))
    if delivered < now:
        events.append({"kind": "DELIVERED", "occurred_at": delivered, "place": account.city})
    state = str(events[-1]["kind"])
    label = ReturnLabel(
        policy=policy,
        account=account,
        tracking_number=number,
        channel=Channel.ONLINE if policy.channel != Channel.POST_OFFICE else Channel.POST_OFFICE,
        service=policy.service,
        customer_name=name,
        customer_email=f"{name.split()[0].lower()}.{rng.randrange(100, 999)}@example.com",
        customer_language="fr" if province == "QC" else "en",
        order_reference=f"ORD-{rng.randrange(10**5, 10**6)}",
        from_street=rng.choice(STREETS),
        from_city=city,
        from_province=province,
        from_postal_code=postal,
        **printed_from(policy),
        state=state,
        issued_at=accepted - datetime.timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 9)),
        accepted_at=accepted,
        delivered_at=delivered if state == "DELIVERED" else None,
        charged_at=accepted,
    )
    return label, events


def _rebuild_rollup(account: BusinessAccount) -> None:
    """The per-day counts, recounted from the events in one aggregate query."""
    days = (
        TrackingEvent.objects.filter(account=account)
        .annotate(day=TruncDate("occurred_at", tzinfo=EASTERN))
        .values("day")
        .annotate(
            accepted=Count("pk", filter=Q(kind="ACCEPTED")),
            exceptions=Count("pk", filter=Q(kind="EXCEPTION")),
            delivered=Count("pk", filter=Q(kind="DELIVERED")),
        )
        .order_by("day")
    )
    DailyReturns.objects.filter(account=account).delete()
    DailyReturns.objects.bulk_create(
        [DailyReturns(account=account, **row) for row in days], batch_size=1000
    )


def _recipients(account: BusinessAccount) -> None:
    for email, language, mode in (
        ("returns@mapleleaf.example", "en", NotificationRecipient.Mode.EACH),
        ("claire.tremblay@mapleleaf.example", "fr", NotificationRecipient.Mode.DAILY),
    ):
        NotificationRecipient.objects.get_or_create(
            account=account, email=email, defaults={"language": language, "mode": mode}
        )
