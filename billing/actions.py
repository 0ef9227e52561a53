"""Billing's actions of the validation queue: pay an invoice, remove a payment method.

A MANAGE-only user who asks prepares a request; a validator (VALIDATE on the whole account)
approves it, which runs the same service as acting directly. The fingerprint is the target's
state: an invoice whose balance or status moved, or a card that changed, makes the request stale.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _

from accounts import validation
from accounts.models import BusinessAccount, User
from accounts.validation import Action, Payload, fingerprint_of
from billing import services
from billing.models import Invoice, PaymentMethod
from outages.features import Feature

PAY_INVOICE = "billing.pay_invoice"
REMOVE_METHOD = "billing.remove_payment_method"


def pay_invoice_payload(*, invoice: Invoice, method: PaymentMethod, key: str) -> dict[str, Any]:
    return {
        "invoice": invoice.pk,
        "number": invoice.number,
        "balance": str(invoice.balance),
        "method": method.pk,
        "card": method.label,
        "key": key,
    }


def remove_method_payload(*, method: PaymentMethod, dependents: list[str]) -> dict[str, Any]:
    return {"method": method.pk, "card": method.label, "dependents": dependents}


def _invoice_state(account: BusinessAccount, payload: Payload) -> str:
    invoice = Invoice.objects.filter(account=account, pk=payload["invoice"]).first()
    if invoice is None:
        return fingerprint_of("gone")
    return fingerprint_of(invoice.status, invoice.total, invoice.amount_paid)


def _method_state(account: BusinessAccount, payload: Payload) -> str:
    method = PaymentMethod.objects.filter(account=account, pk=payload["method"]).first()
    if method is None:
        return fingerprint_of("gone")
    return fingerprint_of(method.status, method.is_default, method.exp_month, method.exp_year)


def _pay(*, actor: User, account: BusinessAccount, payload: Payload, ip: str | None) -> dict:
    payment = services.pay_invoice(
        actor=actor,
        account=account,
        invoice_id=payload["invoice"],
        method_id=payload["method"],
        key=payload["key"],
        ip=ip,
    )
    return {"payment": payment.pk}


def _remove(*, actor: User, account: BusinessAccount, payload: Payload, ip: str | None) -> dict:
    method = services.remove_method(
        actor=actor, account=account, method_id=payload["method"], ip=ip
    )
    return {"method": method.pk}


def register() -> None:
    validation.register(
        Action(
            kind=PAY_INVOICE,
            label=_("Pay an invoice"),
            feature=Feature.ONLINE_PAYMENT,
            perform=_pay,
            fingerprint=_invoice_state,
            summary_template="billing/validation/pay_invoice.html",
        )
    )
    validation.register(
        Action(
            kind=REMOVE_METHOD,
            label=_("Remove a payment method"),
            feature=Feature.PAYMENT_METHODS,
            perform=_remove,
            fingerprint=_method_state,
            summary_template="billing/validation/remove_payment_method.html",
        )
    )
