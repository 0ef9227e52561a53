"""Which billing writes make cached fragments of the account's pages stale (portal.fragments)."""

from billing.models import (
    BillingProfile,
    Charge,
    Invoice,
    Payment,
    PaymentMethod,
    Statement,
    UpgradeReview,
)
from portal.fragments import account_scope, invalidate_on, invalidate_on_account_rows


def register() -> None:
    invalidate_on_account_rows(BillingProfile, PaymentMethod, Charge, Invoice, Statement)
    invalidate_on_account_rows(UpgradeReview)
    invalidate_on(Payment, _scope_of_payment)


def _scope_of_payment(payment: Payment) -> list[str | None]:
    account_id = Invoice.objects.filter(pk=payment.invoice_id).values_list("account_id", flat=True)
    return [account_scope(pk) for pk in account_id]
