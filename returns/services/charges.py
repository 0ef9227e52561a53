"""A label is paid when a post office accepts it: one charge per label, through billing.

Paid by agreement, the charge waits for the commercial invoice; paid by card, it is charged at
once. A refused card suspends the policy and leaves the charge owed on the label: it is made
again when the policy is reinstated, never lost. A gateway that does not answer (or an online
payment window) leaves it owed without suspending anything; the hourly job tries again.
"""

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import override

from billing import services as billing
from billing.exceptions import (
    CardNotAccepted,
    NoUsablePaymentMethod,
    PaymentMethodNotFound,
    PaymentServiceUnavailable,
)
from billing.models import RETURN_LABEL_SOURCE, Charge, return_label_description
from outages.gate import FeatureClosed
from returns.models import ReturnLabel, ReturnPolicy
from returns.pricing import label_price
from returns.services.policies import suspend_policy

logger = logging.getLogger(__name__)
REFUSED = (CardNotAccepted, NoUsablePaymentMethod, PaymentMethodNotFound)
NOT_NOW = (PaymentServiceUnavailable, FeatureClosed)


def charge_label(label: ReturnLabel) -> bool:
    """Charge `label` (locked by the caller) if it is not yet; returns whether it is paid now.

    Runs inside the caller's transaction (applying its ACCEPTED event).
    """
    if label.charged_at is not None:
        return True
    policy = ReturnPolicy.objects.select_for_update().get(pk=label.policy_id)
    with override("en"):  # the charge's description is the books' language
        description = return_label_description(label.tracking_number)
    try:
        billing.charge_for(
            account=label.account,
            description=description,
            amount=label_price(label.service),
            source=f"{RETURN_LABEL_SOURCE}{label.tracking_number}",
            kind=Charge.Kind.RETURN_LABEL,
            method_id=policy.payment_method_id,
            by_agreement=policy.contract_id is not None,
            at=label.accepted_at,
        )
    except REFUSED:
        _owe(label)
        if policy.status != ReturnPolicy.Status.SUSPENDED:
            suspend_policy(policy, reason=_refused_because(policy))
        return False
    except NOT_NOW as error:
        logger.warning("label %s not charged yet: %s", label.tracking_number, type(error).__name__)
        _owe(label)
        return False
    label.charged_at, label.charge_owed = timezone.now(), False
    label.save(update_fields=["charged_at", "charge_owed"])
    return True


def _refused_because(policy: ReturnPolicy) -> str:
    """A refused card, or an agreement that no longer pays (the account stopped being billed to
    account: its charges have no invoice to wait for)."""
    if policy.contract_id is not None:
        return ReturnPolicy.SuspendedBecause.AGREEMENT_ENDED
    return ReturnPolicy.SuspendedBecause.CHARGE_DECLINED


def _owe(label: ReturnLabel) -> None:
    if not label.charge_owed:
        label.charge_owed = True
        label.save(update_fields=["charge_owed"])


def charge_owed_labels(*, policy_id: int | None = None) -> int:
    """Charge the owed labels of active policies (of one policy, when given); each in its own
    transaction, stopping at a policy that gets suspended again. Returns how many were paid."""
    owed = ReturnLabel.objects.filter(
        charge_owed=True, policy__status=ReturnPolicy.Status.ACTIVE
    ).order_by("pk")
    if policy_id is not None:
        owed = owed.filter(policy_id=policy_id)
    paid = 0
    for label_id in owed.values_list("pk", flat=True):
        with transaction.atomic():
            label = (
                ReturnLabel.objects.select_for_update().select_related("account").get(pk=label_id)
            )
            if not label.charge_owed:
                continue
            if not charge_label(label):
                if ReturnPolicy.objects.filter(
                    pk=label.policy_id, status=ReturnPolicy.Status.SUSPENDED
                ).exists():
                    break
                continue
            paid += 1
    return paid
