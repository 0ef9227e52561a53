"""Factories for the returns app: policies (paid by a card or by an agreement), labels, tracking
events and notification recipients.

As elsewhere, `XFactory(...)` is typed as the model it makes. A policy is ACTIVE unless told
(`status=ReturnPolicy.Status.INACTIVE`); its card or agreement belongs to its account.
"""

import datetime

import factory
from django.utils import timezone

from accounts.models import BusinessAccount
from returns.models import (
    Channel,
    NotificationRecipient,
    ReturnLabel,
    ReturnPolicy,
    ShippingService,
    TrackingEvent,
)
from returns.tracking_numbers import SERVICE_PREFIX, check_digit
from tests.accounts.factories import BusinessAccountFactory, ContractFactory
from tests.billing.factories import BillingProfileFactory, CardFactory
from tests.factories import ModelFactory


def tracking_number(n: int) -> str:
    """A well-formed S10 number, different for each `n` (below 10**8)."""
    serial = f"{n % 10**8:08d}"
    return f"{SERVICE_PREFIX}{serial}{check_digit(serial)}CA"


class _PolicyBase(ModelFactory[ReturnPolicy]):
    class Meta:
        model = ReturnPolicy
        abstract = True

    name = factory.Sequence(lambda n: f"Returns policy {n}")
    channel = Channel.BOTH
    service = ShippingService.EXPEDITED_PARCEL
    return_name = "Returns department"
    return_street = "2701 Riverside Drive"
    return_city = "Ottawa"
    return_province = "ON"
    return_postal_code = "K1A 0B1"
    instructions = ""
    return_window_days = 30
    status = ReturnPolicy.Status.ACTIVE


class PolicyFactory(_PolicyBase):
    """An active policy paid by a card of its account (small business)."""

    class Meta:
        model = ReturnPolicy

    account = factory.SubFactory(BusinessAccountFactory, kind="SMALL_BUSINESS")
    payment_method = factory.SubFactory(CardFactory, account=factory.SelfAttribute("..account"))


# The same, named for what it is when a test makes both kinds.
CardPolicyFactory = PolicyFactory


class ContractPolicyFactory(_PolicyBase):
    """An active policy paid by an active agreement of its (commercial) account."""

    class Meta:
        model = ReturnPolicy
        skip_postgeneration_save = True

    account = factory.SubFactory(BusinessAccountFactory)
    contract = factory.SubFactory(ContractFactory, account=factory.SelfAttribute("..account"))

    @factory.post_generation
    def _billed_to_account(policy: ReturnPolicy, create: bool, extracted: object) -> None:
        """An agreement pays through the invoice: the account gets 30-day terms, unless the
        test gave it a billing profile already."""
        if create:
            BillingProfileFactory.create(account=policy.account, terms_days=30)


def billed_to_account() -> BusinessAccount:
    """A commercial account on 30-day terms: its active agreements may pay for returns."""
    account = BusinessAccountFactory.create()
    BillingProfileFactory.create(account=account, terms_days=30)
    return account


class LabelFactory(ModelFactory[ReturnLabel]):
    """A label issued under an (active, card-paid) policy, not yet dropped off."""

    class Meta:
        model = ReturnLabel

    policy = factory.SubFactory(PolicyFactory)
    account = factory.SelfAttribute("policy.account")
    tracking_number = factory.Sequence(lambda n: tracking_number(n + 1))
    channel = factory.SelfAttribute("policy.channel")
    service = factory.SelfAttribute("policy.service")
    counter_code = ""
    customer_name = factory.Faker("name")
    customer_email = factory.Sequence(lambda n: f"customer{n}@shopper.example")
    customer_language = "en"
    order_reference = factory.Sequence(lambda n: f"ORDER-{n:06d}")
    purchase_date = datetime.date(2026, 9, 1)
    from_street = "100 Queen Street"
    from_city = "Ottawa"
    from_province = "ON"
    from_postal_code = "K1P 1J9"
    # What the label printed of its policy when issued (returns.services.labels.printed_from).
    return_name = factory.SelfAttribute("policy.return_name")
    return_street = factory.SelfAttribute("policy.return_street")
    return_city = factory.SelfAttribute("policy.return_city")
    return_province = factory.SelfAttribute("policy.return_province")
    return_postal_code = factory.SelfAttribute("policy.return_postal_code")
    instructions = factory.SelfAttribute("policy.instructions")
    state = ReturnLabel.State.ISSUED
    issued_at = factory.LazyFunction(timezone.now)


class EventFactory(ModelFactory[TrackingEvent]):
    """A tracking event received and not yet applied (`applied_at=None`)."""

    class Meta:
        model = TrackingEvent

    label = factory.SubFactory(LabelFactory)
    account = factory.SelfAttribute("label.account")
    kind = TrackingEvent.Kind.ACCEPTED
    occurred_at = factory.LazyFunction(timezone.now)
    place = "Ottawa"
    applied_at = None


class RecipientFactory(ModelFactory[NotificationRecipient]):
    """A subscribed recipient told of every event, one e-mail each."""

    class Meta:
        model = NotificationRecipient

    account = factory.SubFactory(BusinessAccountFactory)
    email = factory.Sequence(lambda n: f"returns{n}@business.example")
    language = "en"
    mode = NotificationRecipient.Mode.EACH
