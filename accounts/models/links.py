from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models.core import BusinessAccount, Contract
from accounts.models.levels import Right


class AccountLink(models.Model):
    """A user acting for a business account. Removed links are kept: they are the history."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        REMOVED = "removed", _("Removed")

    class Method(models.TextChoices):
        SELF = "self", _("Linked by the user")
        ADMINISTRATOR = "administrator", _("Added by an account administrator")
        STAFF = "staff", _("Added by support staff")

    class RemovedVia(models.TextChoices):
        SELF = "self", _("The user removed their own link")
        CONTACT_LINK = "contact_link", _("A contact's removal link")
        STAFF = "staff", _("Support staff")
        ADMINISTRATOR = "administrator", _("An account administrator")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="account_links",
        verbose_name=_("user"),
    )
    account = models.ForeignKey(
        BusinessAccount,
        on_delete=models.CASCADE,
        related_name="links",
        verbose_name=_("business account"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    # Account administration (adding users, changing rights) is apart from the rights, which
    # are the link's grants.
    is_administrator = models.BooleanField(_("account administrator"), default=False)
    method = models.CharField(
        _("made by"), max_length=15, choices=Method.choices, default=Method.SELF
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("linked"), default=timezone.now)
    removed_at = models.DateTimeField(_("removed"), null=True, blank=True)
    # Null when a contact removed it through the e-mailed link: they have no portal profile.
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("removed by"),
    )
    removed_via = models.CharField(
        _("removed through"), max_length=15, choices=RemovedVia.choices, blank=True
    )

    class Meta:
        verbose_name = _("account link")
        verbose_name_plural = _("account links")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # The database, not a prior check, decides a race: two parallel submissions make one.
            models.UniqueConstraint(
                fields=["user", "account"],
                condition=models.Q(status="active"),
                name="one_active_link_per_user_account",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(status="active", removed_at__isnull=True)
                    | models.Q(status="removed", removed_at__isnull=False)
                ),
                name="removed_link_has_removal_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.account}"

    def mark_removed(self, *, by: Any, via: "AccountLink.RemovedVia") -> None:
        """Record the removal (who, how, when) on the row; the services decide when it may happen
        and which e-mail tells the user."""
        self.status = self.Status.REMOVED
        self.removed_at, self.removed_by, self.removed_via = timezone.now(), by, via
        self.save(update_fields=["status", "removed_at", "removed_by", "removed_via"])


class Grant(models.Model):
    """One right of a link: on the whole account (no contract) or on one contract of it.

    A link holds at most one grant per target; its level includes the levels below it. Only
    accounts.rights reads grants, and only the services write them.
    """

    link = models.ForeignKey(
        AccountLink, on_delete=models.CASCADE, related_name="grants", verbose_name=_("link")
    )
    contract = models.ForeignKey(
        Contract,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="grants",
        verbose_name=_("contract"),
        help_text=_("Empty: the right covers the whole account and all its contracts."),
    )
    level = models.PositiveSmallIntegerField(_("right"), choices=Right.choices)

    class Meta:
        verbose_name = _("right")
        verbose_name_plural = _("rights")
        ordering = ["link", "contract"]
        constraints = [
            models.UniqueConstraint(
                fields=["link"],
                condition=models.Q(contract__isnull=True),
                name="one_account_grant_per_link",
            ),
            models.UniqueConstraint(
                fields=["link", "contract"],
                condition=models.Q(contract__isnull=False),
                name="one_contract_grant_per_link",
            ),
        ]
        indexes = [models.Index(fields=["link", "level"], name="grant_link_level")]

    def __str__(self) -> str:
        target = self.contract.number if self.contract_id and self.contract else _("whole account")
        return f"{target}: {self.get_level_display()}"


class LinkNotice(models.Model):
    """One contact told of one new link, and the single-use removal link that e-mail carries.

    The e-mail itself is an outbox delivery (portal.models.Delivery, kind "accounts.link_notice",
    dedupe key "accounts.link_notice:<pk>"), which holds its sending state. The removal link is
    bound to this row: it works once `sent_at` is set (when the e-mail is handed to the mail
    provider), expires PORTAL_REMOVAL_LINK_VALID_DAYS after it and is spent when `used_at` is set.
    """

    link = models.ForeignKey(
        AccountLink, on_delete=models.CASCADE, related_name="notices", verbose_name=_("link")
    )
    # The contact as they were when told; the contact row may change or go later.
    email = models.EmailField(_("recipient e-mail"))
    name = models.CharField(_("recipient name"), max_length=200)
    language = models.CharField(
        _("language"), max_length=5, choices=settings.LANGUAGES, default="en"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    used_at = models.DateTimeField(_("removal link used"), null=True, blank=True)

    class Meta:
        verbose_name = _("link notification")
        verbose_name_plural = _("link notifications")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(Lower("email"), "link", name="one_notice_per_link_recipient")
        ]

    def __str__(self) -> str:
        return self.email
