"""Billing history for the demo accounts (run by seed_demo, registered from BillingConfig.ready()).

- Maple Leaf Outfitters (commercial, Ontario) is billed to account on 30-day terms: twelve
  monthly invoices of return labels (the last two closed months open and
  overdue, the others paid by transfer or cheque), and this month's charges waiting.
- Prairie Pottery Studio (small business, Manitoba) pays by card when ordering: six monthly
  statements of its charges.
- Atelier Côte-Nord (small business, Quebec) pays with a postage-meter supplier account and has
  shipped about 90 % of BILLING_UPGRADE_SHIPMENTS in the last 12 months: close to an upgrade.
- Boréal Distribution (commercial without credit terms) pays by card when ordering, like a small
  business: six monthly statements of its charges.
- Cards are real PaymentMethods at localstripe (STRIPE_API_BASE) when it answers, so paying
  works in `make run`; without it the cards are left out and the summary says so. Every demo
  account has one (Côte-Nord's supplier account stays its default): return policies are paid by
  card wherever the account is not billed to account.

Idempotent: every charge has a fixed source reference and the same amounts on every run (drawn
from a generator seeded by the account and the month), and a month already invoiced or stated is
left as it is. Totals are the sums of the charges; invoice numbers come from the same gapless
counter as the monthly close.
"""

import datetime
import math
import random
import urllib.request
from collections.abc import Iterable
from decimal import Decimal

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import BusinessAccount
from billing import periods, selectors
from billing.exceptions import BillingError
from billing.models import (
    RETURN_LABEL_SOURCE,
    BillingProfile,
    Charge,
    Invoice,
    Payment,
    PaymentMethod,
    Statement,
    return_label_description,
)
from billing.money import ZERO
from billing.services.cards import gateway_customer
from billing.services.invoices import next_invoice_number
from billing.tax import TAXES, taxed
from portal.demo import register_demo_seeder
from portal.tracking_numbers import tracking_number

MAPLE_LEAF = "0001234567"
PRAIRIE_POTTERY = "0002468135"
COTE_NORD = "0001357924"
BOREAL = "0007654321"

TERMS = 30
INVOICED_MONTHS = 12
STATEMENT_MONTHS = 6
UPGRADE_SHARE = Decimal("0.9")  # of BILLING_UPGRADE_SHIPMENTS, in the trailing 12 months
# Return labels a month, before the season's swing: fewest and most.
SMALL_BUSINESS_LABELS = (8, 25)
BOREAL_LABELS = (4, 12)

LABEL_PRICES = [
    Decimal(price) for price in ("8.75", "9.40", "10.95", "11.60", "12.30", "13.85", "14.50")
]
# Returns follow the shopping year: the after-holiday peak in January, a summer lull.
SEASON = (1.6, 1.1, 0.9, 0.9, 1.0, 0.9, 0.7, 0.8, 1.0, 1.1, 1.2, 1.4)
STRIPE_TEST_CARD = "4242424242424242"  # Stripe's public test number: accepted
CARD_EXPIRY = (12, 2030)
CARD_HOLDERS = {
    MAPLE_LEAF: "Owen Fraser",
    PRAIRIE_POTTERY: "Ava Singh",
    COTE_NORD: "Élise Gagnon",
    BOREAL: "Marc Lévesque",
}
# The grid the near-upgrade account's labels fall on: one every year / N, from a fixed instant,
# so a later run finds the same labels and adds only the new ones.
GRID_EPOCH = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
SUPPLIER = {
    "supplier_name": "Pitney Bowes",
    "supplier_account": "SA-55210873",
    "meter_serial": "PB-4417-2093",
}


def register() -> None:
    register_demo_seeder("billing", seed, order=20)


def seed() -> list[str]:
    """Create what is missing of the demo billing history; returns the lines to print."""
    accounts = BusinessAccount.objects.in_bulk(
        [MAPLE_LEAF, PRAIRIE_POTTERY, COTE_NORD, BOREAL], field_name="customer_number"
    )
    if not {MAPLE_LEAF, PRAIRIE_POTTERY, COTE_NORD} <= set(accounts):
        return ["Billing demo skipped: the demo accounts are missing."]
    now = timezone.now()
    today = periods.eastern_today(now)
    maple, prairie, cote_nord = (accounts[n] for n in (MAPLE_LEAF, PRAIRIE_POTTERY, COTE_NORD))
    boreal = accounts.get(BOREAL)
    with transaction.atomic():
        _supplier_account(cote_nord)  # first: it stays the default, the card comes second
        cards, card_line = _cards([maple, prairie, cote_nord, *([boreal] if boreal else [])])
        _seed_commercial(maple, now, today)
        _seed_paying_when_ordering(prairie, now, today, card=cards.get(PRAIRIE_POTTERY))
        shipments = _seed_near_upgrade(cote_nord, now, today)
        if boreal is not None:
            _seed_paying_when_ordering(
                boreal, now, today, card=cards.get(BOREAL), labels=BOREAL_LABELS
            )
    needed = settings.BILLING_UPGRADE_SHIPMENTS
    invoices = Invoice.objects.filter(account=maple)
    lines = [
        "",
        "Billing (each account's Billing page; support staff: the admin's Billing section):",
        f"  {maple.customer_number}  {maple.legal_name}: commercial, billed to account on"
        f" {TERMS}-day terms. {invoices.count()} monthly invoices (one open, one overdue,"
        " the others paid); this month's charges wait for the next invoice.",
        f"  {prairie.customer_number}  {prairie.legal_name}: small business, pays by card when"
        f" ordering. {Statement.objects.filter(account=prairie).count()} monthly statements"
        " of its charges.",
        f"  {cote_nord.customer_number}  {cote_nord.legal_name}: small business paying with a"
        f" postage-meter supplier account; {shipments} of the {needed} shipments of an upgrade"
        " in the last 12 months (see its credit readiness).",
    ]
    if boreal is not None:
        lines.append(
            f"  {boreal.customer_number}  {boreal.legal_name}: commercial without credit terms,"
            " pays by card when ordering (staff grant terms in the admin's billing profiles)."
        )
    lines += [
        card_line,
        "  Stripe's test cards: 4242 4242 4242 4242 accepted, 4000 0000 0000 0002 declined,"
        " 4000 0000 0000 9995 insufficient funds (any future expiry, any CVC).",
    ]
    return lines


# --- charges, the same on every run ------------------------------------------------------------


def _priced(
    account: BusinessAccount,
    *,
    description: str,
    amount: Decimal,
    source: str,
    at: datetime.datetime,
    status: str,
    method: PaymentMethod | None = None,
    kind: str = Charge.Kind.SERVICE,
) -> Charge:
    tax = taxed(amount, province=account.province, day=timezone.localdate(at))
    return Charge(
        account=account,
        kind=kind,
        description=description,
        source_reference=source,
        quantity=1,
        province=account.province,
        status=status,
        payment_method=method,
        charged_at=at,
        amount=tax.amount,
        gst=tax.gst,
        hst=tax.hst,
        pst=tax.pst,
        qst=tax.qst,
        total=tax.total,
    )


def _month_charges(
    account: BusinessAccount,
    first: datetime.date,
    now: datetime.datetime,
    *,
    labels: tuple[int, int],
    status: str,
    method: PaymentMethod | None = None,
) -> list[Charge]:
    """The month's return-label charges made before `now`; every draw is made whatever `now`
    is, so a month's charges never change."""
    rng = random.Random(f"{account.customer_number}:{first:%Y-%m}")
    start, end = periods.month_bounds(first)
    seconds = int((end - start).total_seconds())
    charges = []
    month_code = (first.year % 10) * 12 + first.month
    for i in range(round(rng.randint(*labels) * SEASON[first.month - 1])):
        at = _weekday_heavy(rng, start, seconds)
        price = rng.choice(LABEL_PRICES)
        charges.append(_label_charge(account, month_code * 1000 + i, price, at, status, method))
    return [charge for charge in charges if charge.charged_at < now]


def _weekday_heavy(rng: random.Random, start: datetime.datetime, seconds: int) -> datetime.datetime:
    """A moment of the month, weekends three times rarer than weekdays (post offices close)."""
    at = start + datetime.timedelta(seconds=rng.randrange(seconds))
    if at.astimezone(periods.EASTERN).weekday() >= 5 and rng.random() < 2 / 3:
        at = start + datetime.timedelta(seconds=rng.randrange(seconds))
    return at


def _label_charge(
    account: BusinessAccount,
    number: int,
    price: Decimal,
    at: datetime.datetime,
    status: str,
    method: PaymentMethod | None,
) -> Charge:
    """A return label's charge as returns makes it at drop-off (source "label:<tracking>"), so
    the returns demo finds each charged label and gives it its tracking events. The serial
    starts with the account's last two digits: no two demo accounts share a number."""
    tracking = tracking_number((int(account.customer_number) % 100) * 10**6 + number)
    return _priced(
        account,
        description=return_label_description(tracking),
        amount=price,
        source=f"{RETURN_LABEL_SOURCE}{tracking}",
        at=at,
        status=status,
        method=method,
        kind=Charge.Kind.RETURN_LABEL,
    )


def _missing(account: BusinessAccount, charges: list[Charge]) -> list[Charge]:
    """The charges not recorded yet (a source is charged once)."""
    known = set(
        Charge.objects.filter(
            account=account, source_reference__in=[c.source_reference for c in charges]
        ).values_list("source_reference", flat=True)
    )
    return [charge for charge in charges if charge.source_reference not in known]


def _sums(charges: Iterable[Charge]) -> dict[str, Decimal]:
    fields = ("amount", "total", *TAXES)
    sums = dict.fromkeys(fields, ZERO)
    for charge in charges:
        for field in fields:
            sums[field] += getattr(charge, field)
    return sums


def _closed_months(today: datetime.date, count: int) -> list[datetime.date]:
    """The first days of the `count` months before today's, oldest first."""
    months = [periods.previous_month(today)]
    while len(months) < count:
        months.append(periods.previous_month(months[-1]))
    return months[::-1]


def _in_month(account: BusinessAccount, first: datetime.date, status: str) -> list[Charge]:
    start, end = periods.month_bounds(first)
    return list(
        Charge.objects.filter(
            account=account, status=status, charged_at__gte=start, charged_at__lt=end
        )
    )


# --- Maple Leaf: invoices on credit terms -------------------------------------------------------


def _seed_commercial(
    account: BusinessAccount, now: datetime.datetime, today: datetime.date
) -> None:
    BillingProfile.objects.update_or_create(account=account, defaults={"terms_days": TERMS})
    months = _closed_months(today, INVOICED_MONTHS)
    for position, first in enumerate(months):
        if Invoice.objects.filter(account=account, period_start=first).exists():
            continue  # invoiced by an earlier run or by the monthly close: left as it is
        if position == len(months) - 1:
            status = Invoice.Status.OPEN
        elif position == len(months) - 2:
            status = Invoice.Status.OVERDUE
        else:
            status = Invoice.Status.PAID
        _invoice(account, first, now, status)
    current = today.replace(day=1)
    waiting = _month_charges(
        account,
        current,
        now,
        labels=(10, 60),
        status=Charge.Status.AWAITING_INVOICE,
    )
    Charge.objects.bulk_create(_missing(account, waiting))


def _invoice(
    account: BusinessAccount, first: datetime.date, now: datetime.datetime, status: str
) -> Invoice:
    """The month's invoice as the monthly close makes it (issued on the 1st of the next month),
    with its waiting charges and the demo charges not recorded yet."""
    new = _missing(
        account,
        _month_charges(
            account,
            first,
            now,
            labels=(10, 60),
            status=Charge.Status.INVOICED,
        ),
    )
    waiting = _in_month(account, first, Charge.Status.AWAITING_INVOICE)
    sums = _sums([*waiting, *new])
    issued = periods.next_month(first)
    due = issued + datetime.timedelta(days=TERMS)
    rng = random.Random(f"{account.customer_number}:{first:%Y-%m}:paid")
    paid_at = datetime.datetime.combine(
        issued + datetime.timedelta(days=rng.randint(8, TERMS - 2)),
        datetime.time(10, 30),
        tzinfo=periods.EASTERN,
    )
    paid = status == Invoice.Status.PAID
    invoice = Invoice.objects.create(
        account=account,
        number=next_invoice_number(issued.year),
        period_start=first,
        period_end=periods.last_day(first),
        issued_on=issued,
        due_on=due,
        terms_days=TERMS,
        status=status,
        amount_paid=sums["total"] if paid else ZERO,
        paid_at=paid_at if paid else None,
        overdue_notified_on=due + datetime.timedelta(days=1)
        if status == Invoice.Status.OVERDUE
        else None,
        **sums,
    )
    for charge in new:
        charge.invoice = invoice
    Charge.objects.bulk_create(new)
    Charge.objects.filter(pk__in=[c.pk for c in waiting]).update(
        status=Charge.Status.INVOICED, invoice=invoice
    )
    if paid:
        by_cheque = first.month % 3 == 0
        payment = Payment.objects.create(
            invoice=invoice,
            method=Payment.Method.CHEQUE if by_cheque else Payment.Method.EFT,
            amount=invoice.total,
            status=Payment.Status.SUCCEEDED,
            idempotency_key=f"demo-{invoice.number}",
            reference=f"{'CHQ' if by_cheque else 'EFT'}-{rng.randrange(10**5, 10**6)}",
        )
        Payment.objects.filter(pk=payment.pk).update(created_at=paid_at)
    return invoice


# --- Prairie Pottery: statements of card charges -------------------------------------------------


def _seed_paying_when_ordering(
    account: BusinessAccount,
    now: datetime.datetime,
    today: datetime.date,
    *,
    card: PaymentMethod | None,
    labels: tuple[int, int] = SMALL_BUSINESS_LABELS,
) -> None:
    """Card charges at order time: the closed months stated, this month's so far."""
    for first in _closed_months(today, STATEMENT_MONTHS):
        if Statement.objects.filter(account=account, period_start=first).exists():
            continue
        new = _missing(
            account,
            _month_charges(
                account,
                first,
                now,
                labels=labels,
                status=Charge.Status.PAID,
                method=card,
            ),
        )
        _statement(account, first, new)
    current = _month_charges(
        account,
        today.replace(day=1),
        now,
        labels=labels,
        status=Charge.Status.PAID,
        method=card,
    )
    Charge.objects.bulk_create(_missing(account, current))


def _statement(account: BusinessAccount, first: datetime.date, new: list[Charge]) -> Statement:
    """The month's statement as the monthly job makes it, with the month's paid charges."""
    start, end = periods.month_bounds(first)
    earlier = list(
        Charge.objects.filter(
            account=account,
            status__in=[Charge.Status.PAID, Charge.Status.SUPPLIER, Charge.Status.REFUNDED],
            statement__isnull=True,
            charged_at__gte=start,
            charged_at__lt=end,
        )
    )
    statement = Statement.objects.create(
        account=account,
        period_start=first,
        period_end=periods.last_day(first),
        issued_on=periods.next_month(first),
        charge_count=len(earlier) + len(new),
        **_sums([*earlier, *new]),
    )
    for charge in new:
        charge.statement = statement
    Charge.objects.bulk_create(new)
    Charge.objects.filter(pk__in=[c.pk for c in earlier]).update(statement=statement)
    return statement


# --- Atelier Côte-Nord: close to the upgrade thresholds -----------------------------------------


def _seed_near_upgrade(
    account: BusinessAccount, now: datetime.datetime, today: datetime.date
) -> int:
    """Labels paid with its supplier account, about 90 % of the upgrade's shipments over the
    trailing 12 months; returns the shipments counted there."""
    method = _supplier_account(account)
    target = int(settings.BILLING_UPGRADE_SHIPMENTS * UPGRADE_SHARE)
    if target > 0:
        since = _year_before(today)
        window_start = datetime.datetime.combine(since, datetime.time(), tzinfo=periods.EASTERN)
        step = datetime.timedelta(days=365) / target
        first_k = math.ceil((window_start - GRID_EPOCH) / step)
        last_k = math.floor((now - GRID_EPOCH) / step)
        stated = set(
            Statement.objects.filter(account=account).values_list("period_start", flat=True)
        )
        labels = []
        for k in range(first_k, last_k + 1):
            at = GRID_EPOCH + k * step
            if periods.eastern_today(at).replace(day=1) in stated:
                continue  # a month already stated is left as it is
            rng = random.Random(f"{account.customer_number}:{k}")
            labels.append(
                _label_charge(
                    account,
                    k % 10**6,
                    rng.choice(LABEL_PRICES),
                    at,
                    Charge.Status.SUPPLIER,
                    method,
                )
            )
        Charge.objects.bulk_create(_missing(account, labels), batch_size=500)
    return selectors.trailing_year(account, today)[0]


def _year_before(today: datetime.date) -> datetime.date:
    if today.month == 2 and today.day == 29:
        return today.replace(year=today.year - 1, day=28)
    return today.replace(year=today.year - 1)


def _supplier_account(account: BusinessAccount) -> PaymentMethod:
    method = PaymentMethod.objects.filter(
        account=account,
        kind=PaymentMethod.Kind.SUPPLIER_ACCOUNT,
        status=PaymentMethod.Status.ACTIVE,
        meter_serial=SUPPLIER["meter_serial"],
    ).first()
    if method is None:
        has_default = selectors.usable_methods(account).filter(is_default=True).exists()
        method = PaymentMethod.objects.create(
            account=account,
            kind=PaymentMethod.Kind.SUPPLIER_ACCOUNT,
            is_default=not has_default,
            **SUPPLIER,
        )
    return method


# --- cards at localstripe -----------------------------------------------------------------------


def _localstripe_answers() -> bool:
    base = settings.STRIPE_API_BASE
    if not base or settings.BILLING_GATEWAY != "billing.gateway.StripeGateway":
        return False
    try:
        with urllib.request.urlopen(f"{base}/js.stripe.com/v3/", timeout=1) as response:  # noqa: S310 - the local fake Stripe
            return bool(response.status == 200)
    except OSError:
        return False


def _cards(accounts: list[BusinessAccount]) -> tuple[dict[str, PaymentMethod], str]:
    """A demo card for each account, saved at localstripe; and the line that says so."""
    base = settings.STRIPE_API_BASE
    if not _localstripe_answers():
        return {}, (
            f"  Demo cards: none, localstripe is not answering at {base or '(no STRIPE_API_BASE)'}."
            " Start it, then run seed_demo again to give each demo account a card."
        )
    client = stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses={"api": base})
    cards = {}
    try:
        for account in accounts:
            cards[account.customer_number] = _card(client, account)
    except (stripe.StripeError, BillingError) as error:
        return (
            cards,
            f"  Demo cards: localstripe refused ({type(error).__name__}); some are missing.",
        )
    names = ", ".join(account.legal_name for account in accounts)
    return cards, f"  Demo cards (Visa ending in 4242, saved at localstripe {base}): {names}."


def _card(client: stripe.StripeClient, account: BusinessAccount) -> PaymentMethod:
    holder = CARD_HOLDERS[account.customer_number]
    existing = PaymentMethod.objects.filter(
        account=account,
        kind=PaymentMethod.Kind.CARD,
        status=PaymentMethod.Status.ACTIVE,
        holder_name=holder,
        last4=STRIPE_TEST_CARD[-4:],
    ).first()
    if existing is not None and _known(client.v1.payment_methods.retrieve, existing.gateway_id):
        return existing
    if existing is not None:  # localstripe started from scratch since: its card is gone
        existing.status = PaymentMethod.Status.REMOVED
        existing.is_default = False
        existing.ended_at = timezone.now()
        existing.save(update_fields=["status", "is_default", "ended_at"])
    profile = selectors.profile_of(account)
    if profile.gateway_customer_id and not _known(
        client.v1.customers.retrieve, profile.gateway_customer_id
    ):
        BillingProfile.objects.filter(pk=profile.pk).update(gateway_customer_id="")
    customer = gateway_customer(account)
    exp_month, exp_year = CARD_EXPIRY
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {
                "number": STRIPE_TEST_CARD,
                "exp_month": exp_month,
                "exp_year": exp_year,
                "cvc": "123",
            },
            "billing_details": {"name": holder},
        }
    )
    method = client.v1.payment_methods.attach(method.id, params={"customer": customer})
    card = method.card
    assert card is not None
    has_default = selectors.usable_methods(account).filter(is_default=True).exists()
    return PaymentMethod.objects.create(
        account=account,
        kind=PaymentMethod.Kind.CARD,
        gateway_id=method.id,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
        holder_name=holder,
        is_default=not has_default,
    )


def _known(retrieve: object, gateway_id: str) -> bool:
    try:
        retrieve(gateway_id)  # type: ignore[operator]
    except stripe.InvalidRequestError:
        return False
    return True
