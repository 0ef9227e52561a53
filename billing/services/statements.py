"""Monthly statements of a small business's charges (paid by card when ordering)."""

import datetime

from django.db import transaction

from accounts.models import BusinessAccount
from billing import periods, selectors
from billing.messages import Kind
from billing.models import Charge, Statement
from billing.services.messages import tell_billing_contacts

# What was paid at order time. A charge refunded before its month is stated nets to nothing and
# stays off; one refunded later keeps its line, which says so (Charge.description_shown).
STATEMENT_STATUSES = (Charge.Status.PAID, Charge.Status.SUPPLIER)


def issue_statements(*, now: datetime.datetime) -> list[Statement]:
    """One statement per account that had charges paid at order time in the previous Eastern
    month, with an e-mail that it is ready. Running it again makes nothing new."""
    today = periods.eastern_today(now)
    first = periods.previous_month(today)
    start, end = periods.month_bounds(first)
    month = Charge.objects.filter(
        status__in=STATEMENT_STATUSES,
        statement__isnull=True,
        charged_at__gte=start,
        charged_at__lt=end,
    )
    account_ids = month.values_list("account_id", flat=True).distinct().order_by("account_id")
    issued = []
    for account_id in account_ids:
        statement = _issue(account_id, first, today, start, end)
        if statement is not None:
            issued.append(statement)
    return issued


def _issue(
    account_id: int,
    first: datetime.date,
    today: datetime.date,
    start: datetime.datetime,
    end: datetime.datetime,
) -> Statement | None:
    with transaction.atomic():
        account = BusinessAccount.objects.select_for_update().get(pk=account_id)
        if Statement.objects.filter(account=account, period_start=first).exists():
            return None
        charges = Charge.objects.filter(
            account=account,
            status__in=STATEMENT_STATUSES,
            statement__isnull=True,
            charged_at__gte=start,
            charged_at__lt=end,
        )
        sums = {**selectors.taxed_sums(charges), "charge_count": charges.count()}
        statement = Statement.objects.create(
            account=account,
            period_start=first,
            period_end=periods.last_day(first),
            issued_on=today,
            **sums,
        )
        charges.update(statement=statement)
        tell_billing_contacts(
            kind=Kind.STATEMENT_READY,
            account=account,
            about=f"statement:{statement.pk}",
            statement=statement.pk,
            month=first.isoformat(),
            total=str(statement.total),
        )
    return statement
