"""Billing's e-mails, as kinds of the portal's outbox. `register()` runs from BillingConfig.ready().

Each is rendered in the contact's language from plain facts (ids, ISO dates, amounts as text);
the context builder adds the account, formatted money and dates, and absolute links.
"""

import datetime
import enum
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.urls import reverse

from accounts.models import BusinessAccount
from billing.models import Payment, PaymentMethod
from billing.money import format_money
from outages.features import Feature
from portal.formatting import format_date, format_month
from portal.models import Delivery
from portal.outbox import MessageKind, Undeliverable, absolute_url, register_kind


class Kind(enum.StrEnum):
    CARD_EXPIRING = "billing.card_expiring"
    CARD_EXPIRED = "billing.card_expired"
    METHOD_REMOVED = "billing.method_removed"
    INVOICE_ISSUED = "billing.invoice_issued"
    INVOICE_OVERDUE = "billing.invoice_overdue"
    INVOICE_PAID = "billing.invoice_paid"
    STATEMENT_READY = "billing.statement_ready"
    UPGRADE_REVIEW = "billing.upgrade_review"
    ACCOUNT_CONVERTED = "billing.account_converted"


# Which gate feature holds each e-mail while it is interrupted (None: never held).
_FEATURES = {
    Kind.CARD_EXPIRING: Feature.PAYMENT_METHODS,
    Kind.CARD_EXPIRED: Feature.PAYMENT_METHODS,
    Kind.METHOD_REMOVED: Feature.PAYMENT_METHODS,
    Kind.INVOICE_ISSUED: Feature.INVOICES,
    Kind.INVOICE_OVERDUE: Feature.INVOICES,
    Kind.INVOICE_PAID: None,
    Kind.STATEMENT_READY: Feature.INVOICES,
    Kind.UPGRADE_REVIEW: None,
    Kind.ACCOUNT_CONVERTED: None,
}


def register() -> None:
    for kind, feature in _FEATURES.items():
        register_kind(
            MessageKind(
                name=kind,
                channel=Delivery.Channel.EMAIL,
                template_prefix=f"billing/email/{kind.value.removeprefix('billing.')}",
                context=email_context,
                feature=feature.value if feature else None,
            )
        )


_MONEY = ("total", "balance", "amount")
_DATES = ("due_on", "expires_on")


def email_context(delivery: Delivery) -> dict[str, Any]:
    account = (
        BusinessAccount.objects.filter(pk=delivery.account_id).first()
        if delivery.account_id
        else None
    )
    if account is None:
        raise Undeliverable("The business account no longer exists.")
    facts = dict(delivery.facts)
    _word_in_recipients_language(facts)
    for name in _MONEY:
        if name in facts:
            facts[name] = format_money(Decimal(facts[name]))
    for name in _DATES:
        if name in facts:
            facts[name] = format_date(datetime.date.fromisoformat(facts[name]))
    if "month" in facts:  # a statement's month: "March 2026", not its first day
        facts["month"] = format_month(datetime.date.fromisoformat(facts["month"]))
    return {
        **facts,
        "account": account,
        "billing_url": absolute_url(reverse("billing:overview", args=[account.pk])),
        "invoice_url": absolute_url(reverse("billing:invoice", args=[account.pk, facts["invoice"]]))
        if "invoice" in facts
        else "",
        "statement_url": absolute_url(
            reverse("billing:statement", args=[account.pk, facts["statement"]])
        )
        if "statement" in facts
        else "",
        "help_desk_phone": settings.PORTAL_HELP_DESK_PHONE,
        "billing_phone": settings.PORTAL_CREDIT_MANAGEMENT_PHONE,
    }


def _word_in_recipients_language(facts: dict[str, Any]) -> None:
    """Name a card ("Visa ending in 4242") and a way of paying in the language being rendered:
    the facts keep ids and codes, never words of the language of whoever queued the e-mail."""
    if "method_id" in facts:
        method = PaymentMethod.objects.filter(pk=facts["method_id"]).first()
        facts["method"] = method.label if method else ""
    if "payment_kind" in facts:
        facts["method"] = str(Payment.Method(facts["payment_kind"]).label)
