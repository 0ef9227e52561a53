"""Billing listens to accounts: an agreement that stops (staff set a contract expired or
suspended) can no longer carry charges to an invoice, which billing announces like an unusable
payment method (billing.hooks), so what it paid for stops too."""

from typing import Any

from django.db.models.signals import post_save

from accounts.models import Contract
from billing.hooks import Reason, payment_method_unusable


def announce_an_ended_agreement(sender: Any, instance: Contract, **kwargs: Any) -> None:
    # Announcing twice is harmless: a listener acts only on what still relied on the agreement.
    if instance.status != Contract.Status.ACTIVE:
        payment_method_unusable.send(
            sender=Contract, account=instance.account, method=None, reason=Reason.AGREEMENT_ENDED
        )


def register() -> None:
    post_save.connect(
        announce_an_ended_agreement, sender=Contract, dispatch_uid="billing.agreement_ended"
    )
