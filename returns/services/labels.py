"""Labels issued to a business's customers through a policy's direct return link.

Nobody signs in: the link's token is the authority, and the policy must issue labels (active,
not deleted) and offer the channel asked for. Issuing charges nothing: a label is charged when
a post office accepts it (returns.services.charges). The customer's e-mail (the PDF label, or
the counter code and its QR code) is queued in the same transaction, once per label.
"""

import datetime
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from outages.features import Feature
from outages.gate import ensure_open
from portal import outbox
from returns.exceptions import LabelsUnavailable, PurchaseDateRequired, ReturnWindowPassed
from returns.messages import Kind
from returns.models import Channel, ReturnLabel, ReturnPolicy
from returns.tracking_numbers import new_tracking_number

logger = logging.getLogger(__name__)

# Shown at a post office counter and typed by a clerk when the QR code cannot be scanned: no
# characters that read like others (0/O/D/Q, 1/I/L, 2/Z, 5/S, 8/B, U/V).
COUNTER_CODE_ALPHABET = "ACEFGHJKMNPRTWXY34679"
COUNTER_CODE_LENGTH = 8
# Tracking numbers are drawn from 10**8; a second clash in a row means something else is wrong.
ATTEMPTS = 5


@dataclass(frozen=True)
class LabelRequest:
    """What the customer typed on the direct link's form (its cleaned data)."""

    customer_name: str
    customer_email: str
    order_reference: str
    from_street: str
    from_city: str
    from_province: str
    from_postal_code: str
    purchase_date: datetime.date | None = None
    # ONLINE or POST_OFFICE; None takes the only channel the policy offers.
    channel: str | None = None


def policy_for_link(token: str) -> ReturnPolicy | None:
    """The policy behind a direct link while it issues labels, else None (one query)."""
    if not token or len(token) > 64:
        return None
    return (
        ReturnPolicy.objects.select_related("account")
        .filter(
            link_token=token,
            status=ReturnPolicy.Status.ACTIVE,
            deleted_at__isnull=True,
        )
        .first()
    )


def label_for_link(token: str, tracking_number: str) -> ReturnLabel | None:
    """The label issued through the link `token` with `tracking_number`, or None.

    A label stays valid whatever its policy became (inactive, suspended, deleted).
    """
    if not token or len(token) > 64 or len(tracking_number) != 13:
        return None
    return (
        ReturnLabel.objects.select_related("policy", "account")
        .filter(tracking_number=tracking_number, policy__link_token=token)
        .first()
    )


def new_counter_code() -> str:
    """Eight characters of COUNTER_CODE_ALPHABET, e.g. "K7MPX3RA"."""
    return "".join(secrets.choice(COUNTER_CODE_ALPHABET) for _ in range(COUNTER_CODE_LENGTH))


def issue_label(
    *, policy_token: str, data: LabelRequest, ip: str | None, language: str
) -> ReturnLabel:
    """Issue a label under the policy of the direct link `policy_token` and queue its e-mail.

    Raises FeatureClosed (RETURN_LABELS), LabelsUnavailable (an unknown token, a policy that
    is inactive, suspended or deleted, or a channel it does not offer: the same refusal for
    each, so the customer learns nothing about the business's account), PurchaseDateRequired
    (the policy has a return window and no date was given), ReturnWindowPassed.
    """
    ensure_open(Feature.RETURN_LABELS)
    policy = policy_for_link(policy_token)
    if policy is None:
        raise LabelsUnavailable()
    channel = _channel(policy, data.channel)
    _check_window(policy, data.purchase_date)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with transaction.atomic():
                label = _create(policy, data, channel, language)
                _queue_email(label)
        except IntegrityError:
            # Another label took this tracking number or counter code: draw new ones.
            if attempt == ATTEMPTS:
                raise
            continue
        logger.info(
            "return label %s issued under policy %s (%s) for %s",
            label.tracking_number,
            policy.reference,
            channel,
            ip or "unknown address",
        )
        return label
    raise AssertionError("unreachable")  # pragma: no cover


def _channel(policy: ReturnPolicy, asked: str | None) -> str:
    if asked is None:
        if policy.channel == Channel.BOTH:
            return str(Channel.ONLINE)
        return str(policy.channel)
    offered = (asked == Channel.ONLINE and policy.offers_online) or (
        asked == Channel.POST_OFFICE and policy.offers_post_office
    )
    if not offered:
        raise LabelsUnavailable()
    return asked


def return_window_passed(policy: ReturnPolicy, purchase_date: datetime.date) -> bool:
    """Whether a purchase of `purchase_date` is past the policy's return window (Eastern days:
    the window's last day is purchase date + window days, inclusive)."""
    if not policy.return_window_days:
        return False
    last_day = purchase_date + datetime.timedelta(days=policy.return_window_days)
    return timezone.localdate() > last_day


def _check_window(policy: ReturnPolicy, purchase_date: datetime.date | None) -> None:
    if not policy.return_window_days:
        return
    if purchase_date is None:
        raise PurchaseDateRequired()
    if return_window_passed(policy, purchase_date):
        raise ReturnWindowPassed()


def _create(policy: ReturnPolicy, data: LabelRequest, channel: str, language: str) -> ReturnLabel:
    return ReturnLabel.objects.create(
        policy=policy,
        account_id=policy.account_id,
        tracking_number=new_tracking_number(),
        channel=channel,
        service=policy.service,
        counter_code=new_counter_code() if channel == Channel.POST_OFFICE else "",
        customer_name=data.customer_name,
        customer_email=data.customer_email,
        customer_language=_supported(language),
        order_reference=data.order_reference,
        purchase_date=data.purchase_date,
        from_street=data.from_street,
        from_city=data.from_city,
        from_province=data.from_province,
        from_postal_code=data.from_postal_code,
        issued_at=timezone.now(),
        **printed_from(policy),
    )


def printed_from(policy: ReturnPolicy) -> dict[str, str]:
    """What a label keeps of its policy as it was when the label was issued."""
    return {
        "return_name": policy.return_name,
        "return_street": policy.return_street,
        "return_city": policy.return_city,
        "return_province": policy.return_province,
        "return_postal_code": policy.return_postal_code,
        "instructions": policy.instructions,
    }


def _supported(language: str) -> str:
    code = (language or "").split("-")[0].lower()
    return code if code in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _queue_email(label: ReturnLabel) -> None:
    outbox.queue_email(
        kind=Kind.LABEL,
        to=label.customer_email,
        language=label.customer_language,
        account_id=label.account_id,
        facts={"label": label.pk},
        dedupe_key=f"{Kind.LABEL}:{label.pk}",
    )
