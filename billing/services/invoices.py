"""Invoices of commercial accounts: the monthly close, overdue marking, and payment."""

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEvent, BusinessAccount, Right, User
from billing import gateway as gateways
from billing import periods, selectors
from billing.exceptions import (
    InvoiceNotPayable,
    OfflinePaymentAmount,
    PaymentMethodNotFound,
    gateway_errors,
)
from billing.messages import Kind
from billing.models import BillingProfile, Charge, Invoice, InvoiceNumber, Payment
from billing.money import format_money, to_cents
from billing.services.cards import gateway_customer, require
from billing.services.messages import tell_billing_contacts
from outages.features import Feature
from outages.gate import ensure_open
from portal.fragments import account_scope, changed

Event = AuditEvent.Event
DEFAULT_TERMS = 30  # for charges left waiting when an account stopped being billed to account


# --- the monthly close ---------------------------------------------------------------------------


def close_month(*, now: datetime.datetime) -> list[Invoice]:
    """Invoice the previous Eastern month's waiting charges: one invoice per account.

    Numbers are gapless per year of issue; the due date is the issue date plus the account's
    terms. Running it again for the same month makes nothing new. Returns the new invoices.
    """
    today = periods.eastern_today(now)
    first = periods.previous_month(today)
    _start, end = periods.month_bounds(first)
    waiting = Charge.objects.filter(status=Charge.Status.AWAITING_INVOICE, charged_at__lt=end)
    account_ids = waiting.values_list("account_id", flat=True).distinct().order_by("account_id")
    invoices = []
    for account_id in account_ids:
        invoice = _invoice_month(account_id, first, today, end)
        if invoice is not None:
            invoices.append(invoice)
    return invoices


def _invoice_month(
    account_id: int, first: datetime.date, today: datetime.date, end: datetime.datetime
) -> Invoice | None:
    with transaction.atomic():
        account = BusinessAccount.objects.select_for_update().get(pk=account_id)
        if Invoice.objects.filter(account=account, period_start=first).exists():
            return None
        charges = Charge.objects.filter(
            account=account, status=Charge.Status.AWAITING_INVOICE, charged_at__lt=end
        )
        sums = selectors.taxed_sums(charges)
        terms = (
            BillingProfile.objects.filter(account=account)
            .values_list("terms_days", flat=True)
            .first()
        )
        terms = terms or DEFAULT_TERMS
        invoice = Invoice.objects.create(
            account=account,
            number=next_invoice_number(today.year),
            period_start=first,
            period_end=periods.last_day(first),
            issued_on=today,
            due_on=today + datetime.timedelta(days=terms),
            terms_days=terms,
            **sums,
        )
        charges.update(status=Charge.Status.INVOICED, invoice=invoice)
        tell_billing_contacts(
            kind=Kind.INVOICE_ISSUED,
            account=account,
            about=f"invoice:{invoice.pk}",
            invoice=invoice.pk,
            number=invoice.number,
            total=str(invoice.total),
            due_on=invoice.due_on.isoformat(),
        )
    return invoice


def next_invoice_number(year: int) -> str:
    """The year's next number, e.g. "2026-000042": the counter row is locked until commit, so a
    number is never given twice or skipped (a rolled-back invoice gives its number back)."""
    InvoiceNumber.objects.get_or_create(year=year)
    counter = InvoiceNumber.objects.select_for_update().get(year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{year}-{counter.last:06d}"


# --- overdue ------------------------------------------------------------------------------------


def mark_overdue(*, today: datetime.date) -> int:
    """Mark OPEN invoices past their due date OVERDUE and tell the billing contacts, once."""
    marked = 0
    due = Invoice.objects.filter(status=Invoice.Status.OPEN, due_on__lt=today).select_related(
        "account"
    )
    for invoice in due.iterator():
        with transaction.atomic():
            if not Invoice.objects.filter(pk=invoice.pk, status=Invoice.Status.OPEN).update(
                status=Invoice.Status.OVERDUE, overdue_notified_on=today
            ):
                continue
            changed(account_scope(invoice.account_id))
            tell_billing_contacts(
                kind=Kind.INVOICE_OVERDUE,
                account=invoice.account,
                about=f"invoice:{invoice.pk}",
                invoice=invoice.pk,
                number=invoice.number,
                balance=str(invoice.balance),
                due_on=invoice.due_on.isoformat(),
            )
            marked += 1
    return marked


# --- paying -------------------------------------------------------------------------------------


def pay_invoice(
    *,
    actor: User,
    account: BusinessAccount,
    invoice_id: int,
    method_id: int,
    key: str,
    ip: str | None,
) -> Payment:
    """Pay an invoice's whole balance with a saved card of the account.

    `key` comes from the page that offered the payment: a double click or a retried request
    sends it again and gets the same payment, and an invoice has at most one successful payment
    (a database constraint), so two validators at once pay once. A refused card keeps a FAILED
    payment row and raises CardNotAccepted.

    Raises FeatureClosed (online payment interrupted), NotAllowed (VALIDATE on the account),
    InvoiceNotPayable, PaymentMethodNotFound, CardNotAccepted, PaymentServiceUnavailable.
    """
    ensure_open(Feature.ONLINE_PAYMENT)
    require(actor, Right.VALIDATE, account)
    refused: Exception | None = None
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().filter(account=account, pk=invoice_id).first()
        if invoice is None:
            raise InvoiceNotPayable()
        attempts = Payment.objects.filter(invoice=invoice, idempotency_key__startswith=f"{key}:")
        done = attempts.filter(status=Payment.Status.SUCCEEDED).first()
        if done is not None:  # the same page sent twice: the first one paid
            return done
        if not invoice.is_payable:
            raise InvoiceNotPayable()
        method = selectors.usable_methods(account).filter(pk=method_id, kind="CARD").first()
        if method is None:
            raise PaymentMethodNotFound()
        payment = Payment.objects.create(
            invoice=invoice,
            method=Payment.Method.CARD,
            payment_method=method,
            amount=invoice.balance,
            idempotency_key=f"{key}:{attempts.count() + 1}",
            paid_by=actor,
        )
        try:
            with gateway_errors():
                payment.gateway_payment_id = gateways.get_gateway().charge(
                    customer=gateway_customer(account),
                    gateway_id=method.gateway_id,
                    cents=to_cents(payment.amount),
                    description=f"Invoice {invoice.number}",
                    idempotency_key=_charge_key(invoice, payment.amount),
                )
        except Exception as error:
            if not hasattr(error, "refusal"):
                raise  # the gateway did not answer: nothing is recorded, the person retries
            refused = error
            payment.status, payment.failure = Payment.Status.FAILED, str(error)[:200]
            payment.save(update_fields=["status", "failure"])
            _audit_payment(actor, account, invoice, payment, ip, Event.INVOICE_PAYMENT_FAILED)
        else:
            _settle(invoice, payment)
            _audit_payment(actor, account, invoice, payment, ip, Event.INVOICE_PAID)
    if refused is not None:
        raise refused
    return payment


def _charge_key(invoice: Invoice, amount: Decimal) -> str:
    """The gateway's idempotency key for charging `amount` on `invoice`: the same for every try
    until the card is refused. An answer lost on the way back records nothing here, and a
    reloaded page carries a new key of its own; this one stays, so the gateway replays the
    charge it may have made instead of making a second. A refusal is recorded, and the next
    try is a new charge."""
    refusals = Payment.objects.filter(invoice=invoice, status=Payment.Status.FAILED).count()
    return f"{invoice.number}:{to_cents(amount)}:{refusals + 1}"


def _settle(invoice: Invoice, payment: Payment) -> None:
    payment.status = Payment.Status.SUCCEEDED
    payment.save(update_fields=["status", "gateway_payment_id"])
    invoice.amount_paid = invoice.amount_paid + payment.amount
    invoice.status = Invoice.Status.PAID
    invoice.paid_at = timezone.now()
    invoice.save(update_fields=["amount_paid", "status", "paid_at"])
    tell_billing_contacts(
        kind=Kind.INVOICE_PAID,
        account=invoice.account,
        about=f"invoice:{invoice.pk}",
        invoice=invoice.pk,
        number=invoice.number,
        amount=str(payment.amount),
        payment_kind=payment.method,  # worded in the recipient's language when sent
    )


def _audit_payment(
    actor: User | None,
    account: BusinessAccount,
    invoice: Invoice,
    payment: Payment,
    ip: str | None,
    event: AuditEvent.Event,
) -> None:
    audit.record(
        actor=actor,
        account=account,
        event=event,
        ip=ip,
        invoice=invoice.number,
        amount=format_money(payment.amount, "en"),
        payment=payment.pk,
    )


def record_offline_payment(
    *, staff: User, invoice_id: int, method: str, amount: Decimal, reference: str
) -> Payment:
    """A cheque or transfer received for the invoice's whole balance (support staff).

    Raises InvoiceNotPayable or OfflinePaymentAmount.
    """
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().select_related("account").get(pk=invoice_id)
        if not invoice.is_payable:
            raise InvoiceNotPayable()
        if amount != invoice.balance:
            raise OfflinePaymentAmount()
        payment = Payment.objects.create(
            invoice=invoice,
            method=method,
            amount=amount,
            reference=reference,
            idempotency_key=f"offline-{invoice.pk}-{timezone.now().timestamp()}",
            paid_by=staff,
        )
        _settle(invoice, payment)
        _audit_payment(
            staff, invoice.account, invoice, payment, None, Event.OFFLINE_PAYMENT_RECORDED
        )
    return payment
