"""Recording a charge for a paid service: one home for "how does this account pay?"."""

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEvent, BusinessAccount, User
from billing import gateway as gateways
from billing import selectors
from billing.exceptions import (
    CardNotAccepted,
    NoUsablePaymentMethod,
    PaymentMethodNotFound,
    gateway_errors,
)
from billing.models import BillingProfile, Charge, ChargeRefusal, PaymentMethod
from billing.money import to_cents
from billing.services.cards import gateway_customer
from billing.tax import taxed
from outages.features import Feature
from outages.gate import ensure_open


def charge_for(
    *,
    account: BusinessAccount,
    description: str,
    amount: Decimal,
    source: str,
    kind: str = Charge.Kind.SERVICE,
    quantity: int = 1,
    method_id: int | None = None,
    by_agreement: bool = False,
    at: datetime.datetime | None = None,
) -> Charge:
    """Charge `account` for a service: `amount` before tax, taxed by its province.

    `source` names what is paid for (e.g. "label:CA123…"): the same source charged again returns
    the first charge, never a second one. Who pays:
    - the method named (`method_id`) pays now: a card through the gateway, or a supplier account;
    - `by_agreement`: the charge waits for the next invoice, which only an account billed to
      account gets (NoUsablePaymentMethod otherwise);
    - neither: an account billed to account waits for its invoice, any other pays now with its
      default method.

    Raises NoUsablePaymentMethod, PaymentMethodNotFound, CardNotAccepted (declined: nothing is
    charged, the caller shows the message), PaymentServiceUnavailable, or FeatureClosed (online
    payment is interrupted, for a card).
    """
    assert not (by_agreement and method_id), "a charge is paid one way"
    at = at or timezone.now()
    try:
        return _charged(
            account, description, amount, source, kind, quantity, method_id, by_agreement, at
        )
    except _Refused as refused:
        # Outside the charge's rolled-back savepoint: the refusal stays, and the next try of
        # this source is a new charge at the gateway.
        ChargeRefusal.objects.create(
            account=account,
            source_reference=source,
            payment_method=refused.method,
            reason=refused.error.refusal,
        )
        raise refused.error from None


class _Refused(Exception):
    """A card refused inside the charge's transaction, with the card: see charge_for."""

    def __init__(self, error: CardNotAccepted, method: PaymentMethod) -> None:
        super().__init__()
        self.error, self.method = error, method


def _charged(
    account: BusinessAccount,
    description: str,
    amount: Decimal,
    source: str,
    kind: str,
    quantity: int,
    method_id: int | None,
    by_agreement: bool,
    at: datetime.datetime,
) -> Charge:
    with transaction.atomic():
        # Charges of one account are made one at a time: a twin request waits, then finds the
        # first charge and returns it.
        profile = BillingProfile.objects.select_for_update().get(
            pk=selectors.profile_of(account).pk
        )
        existing = Charge.objects.filter(account=account, source_reference=source).first()
        if existing is not None:
            return existing
        charge = _priced(account, description, amount, source, quantity, at)
        charge.kind = kind
        if _waits_for_invoice(account, profile, method_id=method_id, by_agreement=by_agreement):
            charge.status = Charge.Status.AWAITING_INVOICE
        else:
            charge.payment_method = _paying_method(account, method_id)
            if charge.payment_method.kind == PaymentMethod.Kind.SUPPLIER_ACCOUNT:
                charge.status = Charge.Status.SUPPLIER
            else:
                ensure_open(Feature.ONLINE_PAYMENT)  # before any call to the gateway
                _pay_by_card(charge, customer=_customer(profile, account))
        charge.save()
    return charge


def _waits_for_invoice(
    account: BusinessAccount, profile: BillingProfile, *, method_id: int | None, by_agreement: bool
) -> bool:
    if method_id is not None:
        return False
    billed_to_account = selectors.bills_to_account(account, profile)
    if by_agreement and not billed_to_account:
        raise NoUsablePaymentMethod()  # no invoice will come for the agreement to pay
    return billed_to_account


def _priced(
    account: BusinessAccount,
    description: str,
    amount: Decimal,
    source: str,
    quantity: int,
    at: datetime.datetime,
) -> Charge:
    tax = taxed(amount, province=account.province, day=timezone.localdate(at))
    return Charge(
        account=account,
        description=description,
        source_reference=source,
        quantity=quantity,
        province=account.province,
        charged_at=at,
        amount=tax.amount,
        gst=tax.gst,
        hst=tax.hst,
        pst=tax.pst,
        qst=tax.qst,
        total=tax.total,
    )


def _customer(profile: BillingProfile, account: BusinessAccount) -> str:
    return profile.gateway_customer_id or gateway_customer(account)


def _paying_method(account: BusinessAccount, method_id: int | None) -> PaymentMethod:
    methods = selectors.usable_methods(account)
    if method_id is not None:
        method = methods.filter(pk=method_id).first()
        if method is None:
            raise PaymentMethodNotFound()
        return method
    method = methods.filter(is_default=True).first()
    if method is None:
        raise NoUsablePaymentMethod()
    return method


def _pay_by_card(charge: Charge, *, customer: str) -> None:
    """Charge the card now. A decline raises before anything is saved: nothing is charged."""
    method = charge.payment_method
    assert method is not None
    try:
        with gateway_errors():
            charge.gateway_payment_id = gateways.get_gateway().charge(
                customer=customer,
                gateway_id=method.gateway_id,
                cents=to_cents(charge.total),
                description=charge.description,
                idempotency_key=_charge_key(charge, method),
            )
    except CardNotAccepted as error:
        raise _Refused(error, method) from error
    charge.status = Charge.Status.PAID


def _charge_key(charge: Charge, method: PaymentMethod) -> str:
    """The gateway's idempotency key for charging `charge`'s source on `method`: the same for
    every try until the card is refused. A try whose answer was lost records nothing here, and
    the caller tries again later (returns' hourly job): the gateway then replays the charge it
    may have made instead of making a second. A refusal is recorded (ChargeRefusal), and the
    next try is a new charge."""
    refusals = ChargeRefusal.objects.filter(
        account_id=charge.account_id, source_reference=charge.source_reference
    ).count()
    return (
        f"charge:{charge.account_id}:{charge.source_reference}:{method.gateway_id}"
        f":{to_cents(charge.total)}:{refusals + 1}"
    )


def refund_charge(*, staff: User, charge_id: int) -> Charge:
    """Give a card charge back in full (support staff, from the admin), audited. Raises
    PaymentServiceUnavailable; a charge that is not a paid card charge is returned unchanged."""
    with transaction.atomic():
        charge = Charge.objects.select_for_update().get(pk=charge_id)
        if charge.status != Charge.Status.PAID or not charge.gateway_payment_id:
            return charge
        with gateway_errors():
            gateways.get_gateway().refund(
                payment_id=charge.gateway_payment_id, cents=to_cents(charge.total)
            )
        charge.status = Charge.Status.REFUNDED
        charge.save(update_fields=["status"])
        audit.record(
            actor=staff,
            account=charge.account,
            event=AuditEvent.Event.CHARGE_REFUNDED,
            ip=None,
            charge=charge.pk,
            source=charge.source_reference,
            total=str(charge.total),
        )
    return charge
