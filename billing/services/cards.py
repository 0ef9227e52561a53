"""Payment methods: cards saved through the gateway, set default, removed, expired."""

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import audit, rights
from accounts.models import AuditEvent, BusinessAccount, Right, User
from billing import gateway as gateways
from billing import selectors
from billing.exceptions import (
    CardAlreadySaved,
    CardExpired,
    NotAllowed,
    PaymentMethodNotFound,
    gateway_errors,
)
from billing.hooks import Reason, dependents_of, payment_method_unusable
from billing.messages import Kind
from billing.models import BillingProfile, PaymentMethod
from billing.periods import last_valid_day
from billing.services.messages import tell_billing_contacts
from outages.features import Feature
from outages.gate import ensure_open
from portal.fragments import account_scope, changed

Event = AuditEvent.Event


def require(actor: User, level: Right, account: BusinessAccount) -> None:
    """Raise NotAllowed unless `actor` holds `level` on the whole account."""
    if not rights.can(actor, level, account):
        raise NotAllowed()


def gateway_customer(account: BusinessAccount) -> str:
    """The account's customer at the gateway, made once (the profile row is locked meanwhile)."""
    with transaction.atomic():
        profile = selectors.profile_of(account)
        profile = BillingProfile.objects.select_for_update().get(pk=profile.pk)
        if not profile.gateway_customer_id:
            with gateway_errors():
                profile.gateway_customer_id = gateways.get_gateway().create_customer(
                    reference=str(account.pk), name=account.legal_name
                )
            profile.save(update_fields=["gateway_customer_id"])
    return profile.gateway_customer_id


def start_card_setup(*, actor: User, account: BusinessAccount) -> gateways.CardSetup:
    """A card entry for the browser to complete with Stripe.js.

    Raises FeatureClosed, NotAllowed (MANAGE on the whole account is needed) or
    PaymentServiceUnavailable.
    """
    ensure_open(Feature.PAYMENT_METHODS)
    require(actor, Right.MANAGE, account)
    customer = gateway_customer(account)
    with gateway_errors():
        return gateways.get_gateway().start_card_setup(customer=customer)


def save_card(
    *, actor: User, account: BusinessAccount, setup_id: str, ip: str | None
) -> PaymentMethod:
    """Keep the card the browser saved at the gateway under `setup_id`: its ids, brand, last four
    digits, expiry and holder, never its number. The account's first card becomes its default.

    Raises FeatureClosed, NotAllowed, CardNotAccepted (refused: nothing kept), CardExpired,
    CardAlreadySaved or PaymentServiceUnavailable.
    """
    ensure_open(Feature.PAYMENT_METHODS)
    require(actor, Right.MANAGE, account)
    customer = gateway_customer(account)
    with gateway_errors():
        card = gateways.get_gateway().finish_card_setup(customer=customer, setup_id=setup_id)
    if _expired(card.exp_month, card.exp_year, timezone.localdate()):
        raise CardExpired()
    try:
        with transaction.atomic():
            first = not selectors.usable_methods(account).select_for_update().exists()
            method = PaymentMethod.objects.create(
                account=account,
                kind=PaymentMethod.Kind.CARD,
                gateway_id=card.gateway_id,
                brand=card.brand,
                last4=card.last4,
                exp_month=card.exp_month,
                exp_year=card.exp_year,
                holder_name=card.holder_name,
                is_default=first,
                added_by=actor,
            )
            audit.record(
                actor=actor,
                account=account,
                event=Event.CARD_ADDED,
                ip=ip,
                method=method.pk,
                card=method.label,
                default=first,
            )
    except IntegrityError:
        raise CardAlreadySaved() from None
    return method


def set_default_method(
    *, actor: User, account: BusinessAccount, method_id: int, ip: str | None
) -> PaymentMethod:
    """Make `method_id` the account's default. Raises FeatureClosed, NotAllowed (VALIDATE),
    PaymentMethodNotFound."""
    ensure_open(Feature.PAYMENT_METHODS)
    require(actor, Right.VALIDATE, account)
    with transaction.atomic():
        methods = list(selectors.usable_methods(account).select_for_update().order_by("pk"))
        chosen = next((m for m in methods if m.pk == method_id), None)
        if chosen is None:
            raise PaymentMethodNotFound()
        if not chosen.is_default:
            PaymentMethod.objects.filter(account=account, is_default=True).update(is_default=False)
            changed(account_scope(account.pk))
            chosen.is_default = True
            chosen.save(update_fields=["is_default"])
            audit.record(
                actor=actor,
                account=account,
                event=Event.DEFAULT_PAYMENT_METHOD_SET,
                ip=ip,
                method=chosen.pk,
                card=chosen.label,
            )
    return chosen


def remove_method(
    *, actor: User, account: BusinessAccount, method_id: int, ip: str | None
) -> PaymentMethod:
    """Remove a payment method: detached at the gateway, kept here as REMOVED for the history.

    A removed default is replaced by the newest other card. Whatever relied on it is told
    (billing.hooks) in this transaction, and the billing contacts by e-mail. Raises
    FeatureClosed, NotAllowed (VALIDATE), PaymentMethodNotFound, PaymentServiceUnavailable.
    """
    ensure_open(Feature.PAYMENT_METHODS)
    require(actor, Right.VALIDATE, account)
    with transaction.atomic():
        methods = list(selectors.usable_methods(account).select_for_update().order_by("-pk"))
        method = next((m for m in methods if m.pk == method_id), None)
        if method is None:
            raise PaymentMethodNotFound()
        if method.is_card:
            with gateway_errors():
                gateways.get_gateway().detach(gateway_id=method.gateway_id)
        _end(method, PaymentMethod.Status.REMOVED)
        _promote_another(method, methods)
        audit.record(
            actor=actor,
            account=account,
            event=Event.PAYMENT_METHOD_REMOVED,
            ip=ip,
            method=method.pk,
            card=method.label,
        )
        tell_billing_contacts(
            kind=Kind.METHOD_REMOVED,
            account=account,
            about=f"method:{method.pk}",
            method_id=method.pk,
            by=actor.display_name,
        )
        payment_method_unusable.send(
            sender=PaymentMethod, account=account, method=method, reason=Reason.METHOD_REMOVED
        )
    return method


def add_supplier_account(
    *,
    staff: User,
    account: BusinessAccount,
    supplier_name: str,
    supplier_account: str,
    meter_serial: str,
) -> PaymentMethod:
    """Record a postage meter's supplier account as a payment method (support staff, who saw the
    meter's contract). It becomes the default when the account has none; audited."""
    with transaction.atomic():
        usable = selectors.usable_methods(account).select_for_update()
        method = PaymentMethod.objects.create(
            account=account,
            kind=PaymentMethod.Kind.SUPPLIER_ACCOUNT,
            supplier_name=supplier_name,
            supplier_account=supplier_account,
            meter_serial=meter_serial,
            is_default=not usable.filter(is_default=True).exists(),
            added_by=staff,
        )
        audit.record(
            actor=staff,
            account=account,
            event=Event.SUPPLIER_ACCOUNT_ADDED,
            ip=None,
            method=method.pk,
            supplier_account=supplier_account,
            meter=meter_serial,
        )
    return method


def _end(method: PaymentMethod, status: str) -> None:
    method.status = status
    method.is_default = False
    method.ended_at = timezone.now()
    method.save(update_fields=["status", "is_default", "ended_at"])


def _promote_another(ended: PaymentMethod, methods: list[PaymentMethod]) -> None:
    """When the default ended, the newest other active card takes its place."""
    if PaymentMethod.objects.filter(account_id=ended.account_id, is_default=True).exists():
        return
    others = [m for m in methods if m.pk != ended.pk and m.is_card]
    if others:
        others[0].is_default = True
        others[0].save(update_fields=["is_default"])


# --- the nightly expiry job ---------------------------------------------------------------------


def _expired(exp_month: int, exp_year: int, today: datetime.date) -> bool:
    return last_valid_day(exp_month, exp_year) < today


def expire_cards(*, today: datetime.date, warn_days: int) -> dict[str, int]:
    """Warn the billing contacts `warn_days` before a card expires (once), and mark expired the
    cards past their month: told by e-mail and announced as unusable (billing.hooks).

    Returns how many cards were warned and expired. Safe to run twice.
    """
    warned = expired = 0
    cards = PaymentMethod.objects.filter(
        kind=PaymentMethod.Kind.CARD,
        status=PaymentMethod.Status.ACTIVE,
        exp_year__lte=(today + datetime.timedelta(days=warn_days)).year,
    ).select_related("account")
    for card in cards.iterator():
        assert card.exp_month is not None and card.exp_year is not None
        last_day = last_valid_day(card.exp_month, card.exp_year)
        if last_day < today:
            expired += _expire(card)
        elif (last_day - today).days <= warn_days and card.expiry_warned_on is None:
            warned += _warn(card, today, last_day)
    return {"warned": warned, "expired": expired}


def _warn(card: PaymentMethod, today: datetime.date, last_day: datetime.date) -> int:
    with transaction.atomic():
        updated = PaymentMethod.objects.filter(pk=card.pk, expiry_warned_on__isnull=True).update(
            expiry_warned_on=today
        )
        changed(account_scope(card.account_id))
        if updated:
            tell_billing_contacts(
                kind=Kind.CARD_EXPIRING,
                account=card.account,
                about=f"method:{card.pk}",
                method_id=card.pk,
                expires_on=last_day.isoformat(),
                dependents=_dependents(card),
            )
    return updated


def _expire(card: PaymentMethod) -> int:
    with transaction.atomic():
        locked = (
            PaymentMethod.objects.select_for_update()
            .filter(pk=card.pk, status=PaymentMethod.Status.ACTIVE)
            .first()
        )
        if locked is None:
            return 0
        _end(locked, PaymentMethod.Status.EXPIRED)
        others = list(selectors.usable_methods(card.account).order_by("-pk"))
        _promote_another(locked, others)
        tell_billing_contacts(
            kind=Kind.CARD_EXPIRED,
            account=card.account,
            about=f"method:{card.pk}",
            method_id=locked.pk,
            dependents=_dependents(locked),
        )
        payment_method_unusable.send(
            sender=PaymentMethod, account=card.account, method=locked, reason=Reason.CARD_EXPIRED
        )
    return 1


def _dependents(method: PaymentMethod) -> list[str]:
    return [str(item) for item in dependents_of(method)]
