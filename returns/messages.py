"""Returns' e-mails, as kinds of the portal's outbox. `register()` runs from ReturnsConfig.ready().

- policy_suspended / policy_reinstated: to the account's users who manage its policies;
- label: to the business's customer, with the PDF label (online) or the counter code and its
  QR code (post office), drawn again from the label's id when the e-mail goes;
- event / daily_summary: to the account's notification recipients, with a one-click
  unsubscribe link and the List-Unsubscribe header.
"""

import enum
from typing import Any

from django.conf import settings
from django.urls import reverse

from accounts.models import BusinessAccount
from outages.features import Feature
from portal.models import Delivery
from portal.outbox import MessageKind, Undeliverable, absolute_url, register_kind
from returns.models import ReturnPolicy


class Kind(enum.StrEnum):
    POLICY_SUSPENDED = "returns.policy_suspended"
    POLICY_REINSTATED = "returns.policy_reinstated"
    LABEL = "returns.label"
    EVENT = "returns.event"
    DAILY_SUMMARY = "returns.daily_summary"


def register() -> None:
    from returns import labels, notifications

    for kind in (Kind.POLICY_SUSPENDED, Kind.POLICY_REINSTATED):
        register_kind(_email(kind, policy_context, Feature.RETURN_POLICIES))
    register_kind(
        _email(
            Kind.LABEL,
            labels.label_email_context,
            Feature.RETURN_LABELS,
            finish=labels.attach_label,
        )
    )
    register_kind(
        _email(
            Kind.EVENT,
            notifications.event_email_context,
            Feature.TRACKING_INGESTION,  # what tracking says: held with it, sent after
            finish=notifications.add_unsubscribe,
        )
    )
    register_kind(
        _email(
            Kind.DAILY_SUMMARY,
            notifications.summary_email_context,
            Feature.TRACKING_INGESTION,
            finish=notifications.add_unsubscribe,
        )
    )


def _email(kind: Kind, context: Any, feature: Feature | None, finish: Any = None) -> MessageKind:
    return MessageKind(
        name=kind,
        channel=Delivery.Channel.EMAIL,
        template_prefix=f"returns/email/{kind.value.removeprefix('returns.')}",
        context=context,
        feature=feature.value if feature else None,
        finish_email=finish,
    )


def policy_context(delivery: Delivery) -> dict[str, Any]:
    policy = (
        ReturnPolicy.objects.select_related("account")
        .filter(pk=delivery.facts.get("policy", 0))
        .first()
    )
    if policy is None:
        raise Undeliverable("The return policy no longer exists.")
    account: BusinessAccount = policy.account
    return {
        **delivery.facts,
        "policy": policy,
        "account": account,
        "reason": policy.get_suspended_because_display() if policy.suspended_because else "",
        "policy_url": absolute_url(reverse("returns:policy", args=[account.pk, policy.pk])),
        "billing_url": absolute_url(reverse("billing:methods", args=[account.pk])),
        "billing_phone": settings.PORTAL_CREDIT_MANAGEMENT_PHONE,
        "help_desk_phone": settings.PORTAL_HELP_DESK_PHONE,
    }
