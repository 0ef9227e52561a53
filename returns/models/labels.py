"""Return labels, their tracking events, and the per-day counts the report reads."""

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from localflavor.ca.models import CAPostalCodeField, CAProvinceField

from accounts.models import BusinessAccount
from portal.postal import validate_postal_code
from returns.models.policies import Channel, ReturnPolicy, ShippingService

S10_PATTERN = r"^[A-Z]{2}[0-9]{9}CA$"


class ReturnLabel(models.Model):
    """A label issued under a policy: valid for as long as it exists, whatever the policy
    becomes. Costs nothing until a post office accepts the parcel."""

    class State(models.TextChoices):
        ISSUED = "ISSUED", _("Label issued")
        ACCEPTED = "ACCEPTED", _("Dropped off")
        IN_TRANSIT = "IN_TRANSIT", _("In transit")
        EXCEPTION = "EXCEPTION", _("Delivery exception")
        DELIVERED = "DELIVERED", _("Delivered")

    policy = models.ForeignKey(
        ReturnPolicy, on_delete=models.PROTECT, related_name="labels", verbose_name=_("policy")
    )
    account = models.ForeignKey(
        BusinessAccount,
        on_delete=models.PROTECT,
        related_name="return_labels",
        verbose_name=_("business account"),
    )
    tracking_number = models.CharField(
        _("tracking number"),
        max_length=13,
        unique=True,
        validators=[RegexValidator(S10_PATTERN, _("Not a tracking number."))],
    )
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    service = models.CharField(
        _("shipping service"), max_length=20, choices=ShippingService.choices
    )
    # Shown at a post office counter (post-office channel).
    counter_code = models.CharField(_("counter code"), max_length=12, blank=True)
    customer_name = models.CharField(_("customer name"), max_length=100)
    customer_email = models.EmailField(_("customer e-mail"))
    customer_language = models.CharField(_("customer language"), max_length=5, default="en")
    order_reference = models.CharField(_("order reference"), max_length=50)
    purchase_date = models.DateField(_("purchase date"), null=True, blank=True)
    from_street = models.CharField(_("street address"), max_length=200)
    from_city = models.CharField(_("city"), max_length=100)
    from_province = CAProvinceField(_("province"))
    from_postal_code = CAPostalCodeField(_("postal code"), validators=[validate_postal_code])
    # Where it goes and what the merchant asked, as printed when it was issued: a label stays
    # what the customer printed, whatever its policy becomes.
    return_name = models.CharField(_("return to (name or department)"), max_length=100, blank=True)
    return_street = models.CharField(_("return street address"), max_length=200, blank=True)
    return_city = models.CharField(_("return city"), max_length=100, blank=True)
    return_province = models.CharField(_("return province"), max_length=2, blank=True)
    return_postal_code = models.CharField(_("return postal code"), max_length=7, blank=True)
    instructions = models.TextField(_("instructions for customers"), blank=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.ISSUED)
    issued_at = models.DateTimeField(_("issued"))
    accepted_at = models.DateTimeField(_("dropped off"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    # Its charge: made at the first ACCEPTED event; a declined card leaves it owed until the
    # policy is reinstated, then it is charged again (never lost).
    charged_at = models.DateTimeField(_("charged"), null=True, blank=True)
    charge_owed = models.BooleanField(_("charge owed"), default=False)

    class Meta:
        verbose_name = _("return label")
        verbose_name_plural = _("return labels")
        ordering = ["-issued_at"]
        constraints = [
            # A post office finds the label by the code the customer shows: one label per code.
            models.UniqueConstraint(
                fields=["counter_code"],
                condition=~Q(counter_code=""),
                name="one_label_per_counter_code",
            )
        ]
        indexes = [
            models.Index(fields=["account", "state", "accepted_at"], name="label_account_state"),
            models.Index(fields=["policy", "-issued_at"], name="label_policy_time"),
            models.Index(fields=["charge_owed"], condition=Q(charge_owed=True), name="label_owed"),
        ]

    def __str__(self) -> str:
        return self.tracking_number


class TrackingEvent(models.Model):
    class Kind(models.TextChoices):
        ACCEPTED = "ACCEPTED", _("Received at the post office")
        IN_TRANSIT = "IN_TRANSIT", _("In transit")
        EXCEPTION = "EXCEPTION", _("Exception")
        DELIVERED = "DELIVERED", _("Delivered")

    label = models.ForeignKey(
        ReturnLabel, on_delete=models.PROTECT, related_name="events", verbose_name=_("label")
    )
    account = models.ForeignKey(
        BusinessAccount,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("business account"),
    )
    kind = models.CharField(_("event"), max_length=12, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("when"))
    place = models.CharField(_("where"), max_length=100, blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    # Stored at once; applied (label state, charge, rollup, notices) when tracking ingestion is
    # open: events that arrive during its maintenance window wait here, none is lost.
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)

    class Meta:
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        ordering = ["occurred_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["label", "kind", "occurred_at"], name="one_tracking_event_per_moment"
            )
        ]
        indexes = [
            models.Index(
                fields=["applied_at"], condition=Q(applied_at__isnull=True), name="event_unapplied"
            ),
            models.Index(fields=["account", "occurred_at"], name="event_account_time"),
        ]

    def __str__(self) -> str:
        return f"{self.label_id} {self.kind} {self.occurred_at:%Y-%m-%d %H:%M}"


class DailyReturns(models.Model):
    """Per account and Eastern day: labels dropped off, exceptions, returns delivered. Kept up
    to date as events are applied, so the 12-month report reads a few hundred rows."""

    account = models.ForeignKey(
        BusinessAccount,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("business account"),
    )
    day = models.DateField(_("day"))
    accepted = models.PositiveIntegerField(_("dropped off"), default=0)
    exceptions = models.PositiveIntegerField(_("exceptions"), default=0)
    delivered = models.PositiveIntegerField(_("delivered"), default=0)

    class Meta:
        verbose_name = _("returns of a day")
        verbose_name_plural = _("returns per day")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "day"], name="one_rollup_row_per_account_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day}"
