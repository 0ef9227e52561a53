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
from returns.models import ReturnPolicy
from returns.services import policies

ACTIVATE = "returns.activate_policy"
DEACTIVATE = "returns.deactivate_policy"
DELETE = "returns.delete_policy"


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


def _performer(service: Any) -> Any:
    def perform(*, actor: User, account: BusinessAccount, payload: Payload, ip: str | None) -> dict:
        policy = service(actor=actor, account=account, policy_id=payload["policy"], ip=ip)
        return {"policy": policy.pk}

    return perform


def register() -> None:
    for kind, label, service in (
        (ACTIVATE, _("Activate a return policy"), policies.activate_policy),
        (DEACTIVATE, _("Deactivate a return policy"), policies.deactivate_policy),
        (DELETE, _("Delete a return policy"), policies.delete_policy),
    ):
        validation.register(
            Action(
                kind=kind,
                label=label,
                feature=Feature.RETURN_POLICIES,
                perform=_performer(service),
                fingerprint=_policy_state,
                target=_target,
                summary_template="returns/validation/policy.html",
            )
        )
