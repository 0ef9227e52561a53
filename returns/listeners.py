"""Returns listens to billing: a payment method that stops being usable suspends the policies
that rely on it, and the removal page lists those policies first (billing.hooks)."""

from typing import Any

from django.dispatch import receiver
from django.utils.translation import gettext as _

from billing.hooks import Reason, payment_method_unusable, register_dependents
from billing.models import PaymentMethod
from returns.models import ReturnPolicy
from returns.services.policies import suspend_policies

_BECAUSE = {
    Reason.CARD_EXPIRED: ReturnPolicy.SuspendedBecause.CARD_EXPIRED,
    Reason.METHOD_REMOVED: ReturnPolicy.SuspendedBecause.METHOD_REMOVED,
    Reason.AGREEMENT_ENDED: ReturnPolicy.SuspendedBecause.AGREEMENT_ENDED,
}


@receiver(payment_method_unusable, dispatch_uid="returns.suspend_policies")
def suspend_what_relied_on_it(
    sender: Any, account: Any, method: PaymentMethod | None, reason: str, **kwargs: Any
) -> None:
    suspend_policies(account=account, reason=_BECAUSE[Reason(reason)], method=method)


def policies_paid_by(method: PaymentMethod) -> list[str]:
    """What the billing pages say stops with `method`, in the reader's language."""
    policies = ReturnPolicy.objects.filter(payment_method=method, deleted_at__isnull=True).exclude(
        status=ReturnPolicy.Status.SUSPENDED
    )
    return [
        _("Return policy “%(name)s” (%(reference)s)")
        % {"name": policy.name, "reference": policy.reference}
        for policy in policies.order_by("pk")
    ]


def register() -> None:
    register_dependents(policies_paid_by)
