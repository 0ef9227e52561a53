"""Returns' actions of the validation queue: activate, deactivate and delete a return policy.

A MANAGE-only user prepares a request; a validator approves it, which runs the same service as
acting directly. The fingerprint is the policy's state: a request whose policy changed since
(edited, suspended, deleted) is refused as stale.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _

from accounts import validation
from accounts.models import BusinessAccount, Contract, User
from accounts.validation import Action, Payload, fingerprint_of
from outages.features import Feature
from returns.exceptions import AlreadyInThatState, NoUsablePayment, PolicyNotFound, PolicySuspended
from returns.models import ReturnPolicy
from returns.services import policies

ACTIVATE = "returns.activate_policy"
DEACTIVATE = "returns.deactivate_policy"
DELETE = "returns.delete_policy"
Status = ReturnPolicy.Status


def policy_payload(policy: ReturnPolicy) -> dict[str, Any]:
    return {"policy": policy.pk, "reference": policy.reference, "name": policy.name}


def _policy_state(account: BusinessAccount, payload: Payload) -> str:
    policy = ReturnPolicy.objects.filter(account=account, pk=payload["policy"]).first()
    if policy is None or policy.deleted_at is not None:
        return fingerprint_of("gone")
    return fingerprint_of(policy.status, policy.updated_at)


def _target(account: BusinessAccount, payload: Payload) -> BusinessAccount | Contract:
    """A policy paid by an agreement is decided on that contract; otherwise on the account."""
    policy = (
        ReturnPolicy.objects.select_related("contract")
        .filter(account=account, pk=payload["policy"])
        .first()
    )
    return policy.contract if policy is not None and policy.contract is not None else account


def _checker(to_status: str | None) -> Any:
    """Refuse to queue what could never be applied (the service would refuse it): a policy gone,
    suspended or already in that state, or an activation without a usable payment method."""

    def check(*, actor: User, account: BusinessAccount, payload: Payload) -> None:
        policy = ReturnPolicy.objects.filter(
            account=account, pk=payload["policy"], deleted_at__isnull=True
        ).first()
        if policy is None:
            raise PolicyNotFound()
        if to_status is None:  # deleting: any live policy
            return
        if policy.status == ReturnPolicy.Status.SUSPENDED:
            raise PolicySuspended()
        if policy.status == to_status:
            raise AlreadyInThatState()
        if to_status == ReturnPolicy.Status.ACTIVE and not policies.payment_usable(
            account, contract_id=policy.contract_id, payment_method_id=policy.payment_method_id
        ):
            raise NoUsablePayment()

    return check


def _performer(service: Any) -> Any:
    def perform(*, actor: User, account: BusinessAccount, payload: Payload, ip: str | None) -> dict:
        policy = service(actor=actor, account=account, policy_id=payload["policy"], ip=ip)
        return {"policy": policy.pk}

    return perform


def register() -> None:
    for kind, label, service, to_status in (
        (ACTIVATE, _("Activate a return policy"), policies.activate_policy, Status.ACTIVE),
        (DEACTIVATE, _("Deactivate a return policy"), policies.deactivate_policy, Status.INACTIVE),
        (DELETE, _("Delete a return policy"), policies.delete_policy, None),
    ):
        validation.register(
            Action(
                kind=kind,
                label=label,
                feature=Feature.RETURN_POLICIES,
                perform=_performer(service),
                check=_checker(to_status),
                fingerprint=_policy_state,
                target=_target,
                summary_template="returns/validation/policy.html",
            )
        )
