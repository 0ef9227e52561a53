"""Return policies: how a business's customers get a label, by which service, to which address,
and who pays for the returns."""

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from localflavor.ca.models import CAPostalCodeField, CAProvinceField

from accounts.models import BusinessAccount, Contract
from billing.models import PaymentMethod
from portal.postal import validate_postal_code


class Channel(models.TextChoices):
    ONLINE = "ONLINE", _("Online, through the direct return link")
    POST_OFFICE = "POST_OFFICE", _("At a post office, with a code shown at the counter")
    BOTH = "BOTH", _("Both")


class ShippingService(models.TextChoices):
    REGULAR_PARCEL = "REGULAR_PARCEL", _("Regular Parcel")
    EXPEDITED_PARCEL = "EXPEDITED_PARCEL", _("Expedited Parcel")
    XPRESSPOST = "XPRESSPOST", _("Xpresspost")
    PRIORITY = "PRIORITY", _("Priority")


# The usual transit time of each service, in business days: the forecast counts from it.
TRANSIT_DAYS = {
    ShippingService.REGULAR_PARCEL: 7,
    ShippingService.EXPEDITED_PARCEL: 5,
    ShippingService.XPRESSPOST: 2,
    ShippingService.PRIORITY: 1,
}


def new_link_token() -> str:
    """The secret part of a direct return link: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


class ReturnPolicy(models.Model):
    class Status(models.TextChoices):
        INACTIVE = "INACTIVE", _("Inactive")
        ACTIVE = "ACTIVE", _("Active")
        SUSPENDED = "SUSPENDED", _("Suspended")

    class SuspendedBecause(models.TextChoices):
        CARD_EXPIRED = "card_expired", _("The card that pays for returns has expired.")
        METHOD_REMOVED = "method_removed", _("The card that pays for returns was removed.")
        AGREEMENT_ENDED = "agreement_ended", _("The agreement that pays for returns has ended.")
        CHARGE_DECLINED = "charge_declined", _("A return could not be charged to the card.")

    account = models.ForeignKey(
        BusinessAccount,
        on_delete=models.PROTECT,
        related_name="return_policies",
        verbose_name=_("business account"),
    )
    name = models.CharField(_("name"), max_length=100)
    channel = models.CharField(
        _("where customers get a label"), max_length=12, choices=Channel.choices
    )
    service = models.CharField(
        _("shipping service"), max_length=20, choices=ShippingService.choices
    )
    # The return address: where the business receives its returns.
    return_name = models.CharField(_("return to (name or department)"), max_length=100)
    return_street = models.CharField(_("street address"), max_length=200)
    return_city = models.CharField(_("city"), max_length=100)
    return_province = CAProvinceField(_("province"))
    return_postal_code = CAPostalCodeField(_("postal code"), validators=[validate_postal_code])
    # How returns are paid: an agreement of the account, or one of its cards (small business).
    contract = models.ForeignKey(
        Contract,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="return_policies",
        verbose_name=_("paid by the agreement"),
    )
    payment_method = models.ForeignKey(
        PaymentMethod,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="return_policies",
        verbose_name=_("paid by the card"),
    )
    instructions = models.TextField(_("instructions for customers"), max_length=1000, blank=True)
    return_window_days = models.PositiveSmallIntegerField(
        _("return window (days after purchase)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.INACTIVE
    )
    suspended_because = models.CharField(
        _("suspended because"), max_length=20, choices=SuspendedBecause.choices, blank=True
    )
    suspended_at = models.DateTimeField(_("suspended"), null=True, blank=True)
    # Reinstating gives back the status a suspension took: only a validator activates a policy.
    active_when_suspended = models.BooleanField(
        _("active when suspended"), default=True, db_default=True
    )
    link_token = models.CharField(
        _("direct link token"), max_length=40, unique=True, default=new_link_token, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Deleted by a user: gone from every page and link, kept for its labels and charges.
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    class Meta:
        verbose_name = _("return policy")
        verbose_name_plural = _("return policies")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(contract__isnull=True) | Q(payment_method__isnull=True),
                name="policy_paid_one_way",
            ),
            models.CheckConstraint(
                condition=~Q(status="SUSPENDED") | ~Q(suspended_because=""),
                name="suspended_policy_says_why",
            ),
        ]
        indexes = [
            models.Index(
                fields=["account", "-created_at"],
                condition=Q(deleted_at__isnull=True),
                name="policy_account_live",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.name}"

    @property
    def reference(self) -> str:
        """The id a user quotes to support: "RP-000042"."""
        return f"RP-{self.pk:06d}" if self.pk else "RP-new"

    @property
    def offers_online(self) -> bool:
        return self.channel in (Channel.ONLINE, Channel.BOTH)

    @property
    def offers_post_office(self) -> bool:
        return self.channel in (Channel.POST_OFFICE, Channel.BOTH)

    @property
    def transit_days(self) -> int:
        return TRANSIT_DAYS[ShippingService(self.service)]

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def issues_labels(self) -> bool:
        return self.status == self.Status.ACTIVE and self.deleted_at is None
