"""Return policies: create, change, activate, deactivate, delete; suspended when their payment
method stops being usable, reinstated by support staff.

Users with MANAGE create and change policies; activating, deactivating and deleting need
VALIDATE (a MANAGE-only user prepares a request in the validation queue: returns.actions).
"""

import datetime
from dataclasses import asdict, dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts import audit, rights
from accounts.models import AuditEvent, BusinessAccount, Contract, Right, User
from billing import selectors as billing_selectors
from billing.models import PaymentMethod
from outages.features import Feature
from outages.gate import ensure_open
from returns.exceptions import (
    AlreadyInThatState,
    NotAllowed,
    NoUsablePayment,
    PolicyNotFound,
    PolicySuspended,
)
from returns.models import ReturnPolicy
from returns.services.messages import tell_policy_watchers

Event = AuditEvent.Event
Status = ReturnPolicy.Status


@dataclass(frozen=True)
class PolicyData:
    """What a user sets on a policy (the form's cleaned data)."""

    name: str
    channel: str
    service: str
    return_name: str
    return_street: str
    return_city: str
    return_province: str
    return_postal_code: str
    contract_id: int | None
    payment_method_id: int | None
    instructions: str = ""
    return_window_days: int | None = None


def require(actor: User, level: Right, target: BusinessAccount | Contract) -> None:
    if not rights.can(actor, level, target):
        raise NotAllowed()


def _paid_by(account: BusinessAccount, contract_id: int | None) -> BusinessAccount | Contract:
    """What a right is asked on: a policy paid by an agreement is decided on that contract (as
    its queue requests are, returns.actions), any other on the whole account."""
    if contract_id is None:
        return account
    return Contract.objects.filter(account=account, pk=contract_id).first() or account


def paying_contracts(account: BusinessAccount) -> "Any":
    """The agreements that may pay for returns: the account's active ones, while the account is
    billed to account (a label's charge then waits for the invoice). An account that pays when
    ordering pays for returns by card."""
    if not billing_selectors.bills_to_account(account):
        return Contract.objects.none()
    return Contract.objects.filter(account=account, status=Contract.Status.ACTIVE)


def paying_cards(account: BusinessAccount) -> "Any":
    """The cards that may pay for returns: the account's usable cards."""
    return PaymentMethod.objects.filter(
        account=account, kind=PaymentMethod.Kind.CARD, status=PaymentMethod.Status.ACTIVE
    )


def payment_usable(
    account: BusinessAccount, *, contract_id: int | None, payment_method_id: int | None
) -> bool:
    """Whether exactly one way of paying is named and it can pay now, for this account."""
    if (contract_id is None) == (payment_method_id is None):
        return False
    if contract_id is not None:
        return paying_contracts(account).filter(pk=contract_id).exists()
    return paying_cards(account).filter(pk=payment_method_id).exists()


def policies_for(user: Any, account: BusinessAccount, level: Right = Right.CONSULT) -> "Any":
    """The account's policies (not deleted) that `user` reaches with `level`: a policy paid by
    an agreement is reached through a grant on that contract too."""
    live = ReturnPolicy.objects.filter(account=account, deleted_at__isnull=True)
    return rights.scope(live, user, level, contract_field="contract")


def _locked(account: BusinessAccount, policy_id: int) -> ReturnPolicy:
    policy = (
        ReturnPolicy.objects.select_for_update()
        .filter(account=account, pk=policy_id, deleted_at__isnull=True)
        .first()
    )
    if policy is None:
        raise PolicyNotFound()
    return policy


def create_policy(
    *, actor: User, account: BusinessAccount, data: PolicyData, ip: str | None
) -> ReturnPolicy:
    """A new, inactive policy. Raises FeatureClosed, NotAllowed (MANAGE), NoUsablePayment."""
    ensure_open(Feature.RETURN_POLICIES)
    require(actor, Right.MANAGE, _paid_by(account, data.contract_id))
    if not payment_usable(
        account, contract_id=data.contract_id, payment_method_id=data.payment_method_id
    ):
        raise NoUsablePayment()
    with transaction.atomic():
        policy = ReturnPolicy.objects.create(account=account, created_by=actor, **asdict(data))
        _record(policy, Event.POLICY_CREATED, actor, ip)
    return policy


def update_policy(
    *, actor: User, account: BusinessAccount, policy_id: int, data: PolicyData, ip: str | None
) -> ReturnPolicy:
    """Change a policy's settings; labels already issued keep theirs. Raises FeatureClosed,
    NotAllowed (MANAGE), PolicyNotFound, NoUsablePayment."""
    ensure_open(Feature.RETURN_POLICIES)
    require(actor, Right.MANAGE, _paid_by(account, data.contract_id))
    if not payment_usable(
        account, contract_id=data.contract_id, payment_method_id=data.payment_method_id
    ):
        raise NoUsablePayment()
    with transaction.atomic():
        policy = _locked(account, policy_id)
        require(actor, Right.MANAGE, _paid_by(account, policy.contract_id))
        for field, value in asdict(data).items():
            setattr(policy, field, value)
        policy.save()
        _record(policy, Event.POLICY_CHANGED, actor, ip)
    return policy


def activate_policy(
    *, actor: User, account: BusinessAccount, policy_id: int, ip: str | None
) -> ReturnPolicy:
    """Let customers get labels. Raises FeatureClosed, NotAllowed (VALIDATE), PolicyNotFound,
    PolicySuspended (only staff lift a suspension), AlreadyInThatState, NoUsablePayment."""
    ensure_open(Feature.RETURN_POLICIES)
    with transaction.atomic():
        policy = _locked(account, policy_id)
        require(actor, Right.VALIDATE, _paid_by(account, policy.contract_id))
        if policy.status == Status.SUSPENDED:
            raise PolicySuspended()
        if policy.status == Status.ACTIVE:
            raise AlreadyInThatState()
        if not payment_usable(
            account, contract_id=policy.contract_id, payment_method_id=policy.payment_method_id
        ):
            raise NoUsablePayment()
        return _set_status(policy, Status.ACTIVE, actor, ip, Event.POLICY_ACTIVATED)


def deactivate_policy(
    *, actor: User, account: BusinessAccount, policy_id: int, ip: str | None
) -> ReturnPolicy:
    """Stop issuing labels (labels already issued stay valid). Raises FeatureClosed, NotAllowed
    (VALIDATE), PolicyNotFound, PolicySuspended, AlreadyInThatState."""
    ensure_open(Feature.RETURN_POLICIES)
    with transaction.atomic():
        policy = _locked(account, policy_id)
        require(actor, Right.VALIDATE, _paid_by(account, policy.contract_id))
        if policy.status == Status.SUSPENDED:
            raise PolicySuspended()
        if policy.status == Status.INACTIVE:
            raise AlreadyInThatState()
        return _set_status(policy, Status.INACTIVE, actor, ip, Event.POLICY_DEACTIVATED)


def delete_policy(
    *, actor: User, account: BusinessAccount, policy_id: int, ip: str | None
) -> ReturnPolicy:
    """Delete for good, as far as users can tell: the policy leaves every page and its direct
    link stops; its labels stay valid and its charges stay on the books. Raises FeatureClosed,
    NotAllowed (VALIDATE), PolicyNotFound."""
    ensure_open(Feature.RETURN_POLICIES)
    with transaction.atomic():
        policy = _locked(account, policy_id)
        require(actor, Right.VALIDATE, _paid_by(account, policy.contract_id))
        policy.deleted_at = timezone.now()
        policy.save(update_fields=["deleted_at", "updated_at"])
        _record(policy, Event.POLICY_DELETED, actor, ip)
    return policy


def _set_status(
    policy: ReturnPolicy, status: str, actor: User | None, ip: str | None, event: AuditEvent.Event
) -> ReturnPolicy:
    policy.status = status
    policy.save(update_fields=["status", "updated_at"])
    _record(policy, event, actor, ip)
    return policy


def _record(
    policy: ReturnPolicy, event: AuditEvent.Event, actor: User | None, ip: str | None
) -> None:
    audit.record(
        actor=actor,
        account=policy.account,
        event=event,
        ip=ip,
        policy=policy.reference,
        name=policy.name,
    )


# --- suspension and reinstatement ----------------------------------------------------------------


def suspend_policies(
    *, account: BusinessAccount, reason: str, method: PaymentMethod | None = None
) -> list[ReturnPolicy]:
    """Suspend the account's live policies paid by `method` (without one: paid by an agreement
    that can no longer pay, see paying_contracts), tell the account's MANAGE users, and return
    them. Runs inside the caller's transaction (billing's announcement), so the suspension
    commits with its cause."""
    live = (
        ReturnPolicy.objects.select_for_update()
        .filter(account=account, deleted_at__isnull=True)
        .exclude(status=Status.SUSPENDED)
    )
    if method is not None:
        live = live.filter(payment_method=method)
    else:
        live = live.filter(contract__isnull=False).exclude(
            contract__in=paying_contracts(account).values("pk")
        )
    return [suspend_policy(policy, reason=reason) for policy in live]


def suspend_policy(policy: ReturnPolicy, *, reason: str) -> ReturnPolicy:
    """Suspend one policy (its row locked by the caller) and tell who can act on it."""
    was_active = policy.status == Status.ACTIVE
    policy.status = Status.SUSPENDED
    policy.suspended_because = reason
    policy.suspended_at = timezone.now()
    policy.active_when_suspended = was_active
    policy.save(
        update_fields=[
            "status",
            "suspended_because",
            "suspended_at",
            "active_when_suspended",
            "updated_at",
        ]
    )
    audit.record(
        actor=None,
        account=policy.account,
        event=Event.POLICY_SUSPENDED,
        ip=None,
        policy=policy.reference,
        reason=reason,
        was_active=was_active,
    )
    tell_policy_watchers(policy, suspended=True)
    return policy


def reinstate_policy(
    *, staff: User, policy_id: int, at: datetime.datetime | None = None
) -> ReturnPolicy:
    """Lift a suspension once its cause is fixed (support staff, from the admin): the policy is
    as it was before, active or inactive (only a validator activates a policy), and the labels'
    charges left owed are charged now (returns.services.charges).

    Raises AlreadyInThatState (not suspended) or NoUsablePayment (the cause is not fixed).
    """
    from returns.services.charges import charge_owed_labels

    with transaction.atomic():
        policy = (
            ReturnPolicy.objects.select_for_update().select_related("account").get(pk=policy_id)
        )
        if policy.status != Status.SUSPENDED:
            raise AlreadyInThatState()
        if not payment_usable(
            policy.account,
            contract_id=policy.contract_id,
            payment_method_id=policy.payment_method_id,
        ):
            raise NoUsablePayment()
        policy.status = Status.ACTIVE if policy.active_when_suspended else Status.INACTIVE
        policy.suspended_because, policy.suspended_at = "", None
        policy.save(update_fields=["status", "suspended_because", "suspended_at", "updated_at"])
        audit.record(
            actor=staff,
            account=policy.account,
            event=Event.POLICY_REINSTATED,
            ip=None,
            policy=policy.reference,
        )
        tell_policy_watchers(policy, suspended=False)
    charge_owed_labels(policy_id=policy.pk)
    return policy
