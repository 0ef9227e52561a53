"""What billing pages and jobs read: each list starts from the rights scope and is paged by the
view; totals are sums in the database."""

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from accounts import rights
from accounts.models import BusinessAccount, Contact, Contract, Right
from billing.models import BillingProfile, Charge, Invoice, PaymentMethod, Statement
from billing.money import ZERO, rounded
from billing.periods import last_valid_day

Mode = BusinessAccount.Kind


def profile_of(account: BusinessAccount) -> BillingProfile:
    """The account's billing profile, made on first use."""
    profile, _created = BillingProfile.objects.get_or_create(account=account)
    return profile


def has_active_agreement(account: BusinessAccount) -> bool:
    return Contract.objects.filter(account=account, status=Contract.Status.ACTIVE).exists()


def bills_to_account(account: BusinessAccount, profile: BillingProfile | None = None) -> bool:
    """Billed to account on credit terms: a commercial account with an active agreement and
    terms set by staff (its profile, read when not given). Everyone else pays when ordering."""
    if account.kind != BusinessAccount.Kind.COMMERCIAL:
        return False
    terms_days = (profile or profile_of(account)).terms_days
    return terms_days is not None and has_active_agreement(account)


def usable_methods(account: BusinessAccount) -> "QuerySet[PaymentMethod]":
    return PaymentMethod.objects.filter(account=account, status=PaymentMethod.Status.ACTIVE)


def payment_methods_for(user: object, account: BusinessAccount) -> "QuerySet[PaymentMethod]":
    """The account's active payment methods, default first, if `user` may consult billing."""
    return rights.scope(usable_methods(account), user, Right.CONSULT)


def default_method(account: BusinessAccount) -> PaymentMethod | None:
    return usable_methods(account).filter(is_default=True).first()


def invoices_for(user: object, account: BusinessAccount | int) -> "QuerySet[Invoice]":
    """The account's invoices, if `user` may consult the whole account (none otherwise)."""
    return rights.scope(Invoice.objects.filter(account=account), user, Right.CONSULT)


def open_invoices(account: BusinessAccount) -> "QuerySet[Invoice]":
    return Invoice.objects.filter(
        account=account, status__in=[Invoice.Status.OPEN, Invoice.Status.OVERDUE]
    )


def statements_for(user: object, account: BusinessAccount | int) -> "QuerySet[Statement]":
    return rights.scope(Statement.objects.filter(account=account), user, Right.CONSULT)


def billing_recipients(account: BusinessAccount) -> list[Contact]:
    """Who billing e-mails go to: the billing contacts of a commercial account (its primary
    contacts when it has none), the primary contacts of a small business; one per address."""
    roles = [Contact.Role.PRIMARY]
    if account.kind == BusinessAccount.Kind.COMMERCIAL:
        billing = list(Contact.objects.filter(account=account, role=Contact.Role.BILLING))
        if billing:
            return _one_per_address(billing)
    return _one_per_address(list(Contact.objects.filter(account=account, role__in=roles)))


def _one_per_address(contacts: list[Contact]) -> list[Contact]:
    unique: dict[str, Contact] = {}
    for contact in sorted(contacts, key=lambda c: c.pk):
        unique.setdefault(contact.email.lower(), contact)
    return list(unique.values())


# --- aging of the open balance -----------------------------------------------------------------

AGING_BUCKETS = ("current", "days_1_30", "days_31_60", "days_61_90", "days_over_90")


def aging(account: BusinessAccount, today: datetime.date) -> dict[str, Decimal]:
    """The open balance by days past due, summed in one query."""

    def past_due(low: int, high: int | None) -> Q:
        q = Q(due_on__lte=today - datetime.timedelta(days=low))
        if high is not None:
            q &= Q(due_on__gt=today - datetime.timedelta(days=high + 1))
        return q

    balance = Sum("total") - Sum("amount_paid")
    buckets = {
        "current": Q(due_on__gte=today),
        "days_1_30": past_due(1, 30),
        "days_31_60": past_due(31, 60),
        "days_61_90": past_due(61, 90),
        "days_over_90": past_due(91, None),
    }
    sums = open_invoices(account).aggregate(
        **{
            name: Coalesce(Sum("total", filter=q) - Sum("amount_paid", filter=q), ZERO)
            for name, q in buckets.items()
        },
        total=Coalesce(balance, ZERO),
    )
    return {name: Decimal(value) for name, value in sums.items()}


TAXED_FIELDS = ("amount", "gst", "hst", "pst", "qst", "total")


def taxed_sums(charges: "QuerySet[Charge]") -> dict[str, Decimal]:
    """The amount, each tax and the total of `charges`, summed in the database, to the cent
    (SQLite's sums come back with extra places)."""
    sums = charges.aggregate(**{name: Coalesce(Sum(name), ZERO) for name in TAXED_FIELDS})
    return {name: rounded(Decimal(value)) for name, value in sums.items()}


def charges_by_kind(charges: "QuerySet[Charge]") -> list[dict[str, object]]:
    """One line per kind of charge (its label, shipments, amount, each tax, total), summed in
    the database: a document's summary stays one short table however many labels it holds."""
    labels = dict(Charge.Kind.choices)
    sums: dict[str, Any] = {name: Sum(name) for name in TAXED_FIELDS}
    by_kind: Any = charges.order_by("kind").values("kind")  # the sums' names are dynamic
    rows = by_kind.annotate(shipments=Sum("quantity"), **sums)
    return [
        {
            **{name: rounded(Decimal(row[name])) for name in TAXED_FIELDS},
            "label": labels.get(row["kind"], row["kind"]),
            "shipments": row["shipments"],
        }
        for row in rows
    ]


def days_past_due(invoice: Invoice, today: datetime.date) -> int:
    return max(0, (today - invoice.due_on).days)


# --- credit readiness: a small business's way to commercial terms ------------------------------


@dataclass(frozen=True)
class Unbilled:
    """The charges not yet on an invoice or a statement: how many, their total, the latest."""

    count: int
    total: Decimal
    latest: list[Charge]


def charges_since_last_document(account: BusinessAccount, *, latest: int = 5) -> Unbilled:
    """What the next invoice or statement will gather so far: counted and summed in the
    database (one query), and the latest few charges read (one more)."""
    waiting = Charge.objects.filter(
        account=account, invoice__isnull=True, statement__isnull=True
    ).exclude(status=Charge.Status.REFUNDED)  # refunded before its statement: nothing to gather
    sums = waiting.aggregate(count=Count("pk"), total=Coalesce(Sum("total"), ZERO))
    newest = list(waiting.order_by("-charged_at", "-pk")[:latest])
    return Unbilled(count=sums["count"], total=sums["total"], latest=newest)


@dataclass(frozen=True)
class Readiness:
    shipments: int
    revenue: Decimal
    shipments_needed: int
    revenue_needed: Decimal

    @property
    def shipments_percent(self) -> int:
        return min(100, int(self.shipments * 100 / max(1, self.shipments_needed)))

    @property
    def revenue_percent(self) -> int:
        return min(100, int(self.revenue * 100 / max(Decimal(1), self.revenue_needed)))

    @property
    def reached(self) -> bool:
        return self.shipments >= self.shipments_needed or self.revenue >= self.revenue_needed


PAID_AT_ORDER = [Charge.Status.PAID, Charge.Status.SUPPLIER]


def trailing_year(account: BusinessAccount, today: datetime.date) -> tuple[int, Decimal]:
    """Shipments and revenue (before tax) of the 12 months before `today`, from the charges."""
    since = (
        today.replace(year=today.year - 1)
        if not (today.month == 2 and today.day == 29)
        else (today.replace(year=today.year - 1, day=28))
    )
    sums = Charge.objects.filter(
        account=account, status__in=PAID_AT_ORDER, charged_at__date__gte=since
    ).aggregate(shipments=Coalesce(Sum("quantity"), 0), revenue=Coalesce(Sum("amount"), ZERO))
    return int(sums["shipments"]), Decimal(sums["revenue"])


def credit_readiness(account: BusinessAccount, today: datetime.date) -> Readiness:
    shipments, revenue = trailing_year(account, today)
    return Readiness(
        shipments=shipments,
        revenue=revenue,
        shipments_needed=settings.BILLING_UPGRADE_SHIPMENTS,
        revenue_needed=Decimal(settings.BILLING_UPGRADE_REVENUE),
    )


def cards_expiring(
    account: BusinessAccount, today: datetime.date, days: int
) -> list[PaymentMethod]:
    """The account's usable cards whose last valid day falls within `days` of `today`."""
    horizon = today + datetime.timedelta(days=days)
    cards = usable_methods(account).filter(
        kind=PaymentMethod.Kind.CARD,
        exp_year__lte=horizon.year,
    )
    return [
        card
        for card in cards
        if card.exp_month is not None
        and card.exp_year is not None
        and last_valid_day(card.exp_month, card.exp_year) <= horizon
    ]
