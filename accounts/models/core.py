from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from localflavor.ca.models import CAPostalCodeField, CAProvinceField

from accounts.postal import validate_postal_code
from accounts.rights import Right

customer_number_validator = RegexValidator(
    r"^\d{10}$", _("A customer number has exactly 10 digits.")
)


class User(AbstractUser):
    """A person who signs in. Signs in by e-mail; `username` mirrors it for Django's admin."""

    language = models.CharField(
        _("preferred language"),
        max_length=5,
        choices=settings.LANGUAGES,
        default="en",
        help_text=_("Language of the e-mails the portal sends."),
    )


class BusinessAccount(models.Model):
    class Kind(models.TextChoices):
        COMMERCIAL = "COMMERCIAL", _("Commercial")
        SMALL_BUSINESS = "SMALL_BUSINESS", _("Small business")

    customer_number = models.CharField(
        _("customer number"), max_length=10, unique=True, validators=[customer_number_validator]
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    legal_name = models.CharField(_("legal name"), max_length=200)
    street_address = models.CharField(_("street address"), max_length=200)
    city = models.CharField(_("city"), max_length=100)
    province = CAProvinceField(_("province"))
    postal_code = CAPostalCodeField(_("postal code"), validators=[validate_postal_code])
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("business account")
        verbose_name_plural = _("business accounts")
        ordering = ["legal_name"]

    def __str__(self) -> str:
        return f"{self.legal_name} ({self.customer_number})"


class Contract(models.Model):
    class Kind(models.TextChoices):
        PARCEL_SERVICES = "PARCEL_SERVICES", _("Parcel services agreement")
        HIGH_VOLUME = "HIGH_VOLUME", _("High-volume shipper agreement")
        RETURNS = "RETURNS", _("Returns services agreement")

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", _("Active")
        SUSPENDED = "SUSPENDED", _("Suspended")
        EXPIRED = "EXPIRED", _("Expired")

    account = models.ForeignKey(
        BusinessAccount,
        on_delete=models.CASCADE,
        related_name="contracts",
        verbose_name=_("business account"),
    )
    number = models.CharField(
        _("contract number"),
        max_length=10,
        unique=True,
        validators=[RegexValidator(r"^\d{10}$", _("A contract number has exactly 10 digits."))],
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), null=True, blank=True)

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.number} — {self.get_kind_display()}"


class Contact(models.Model):
    class Role(models.TextChoices):
        PRIMARY = "PRIMARY", _("Primary contact")
        BILLING = "BILLING", _("Billing contact")

    account = models.ForeignKey(
        BusinessAccount,
        on_delete=models.CASCADE,
        related_name="contacts",
        verbose_name=_("business account"),
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("e-mail"))
    language = models.CharField(
        _("preferred language"), max_length=5, choices=settings.LANGUAGES, default="en"
    )

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["account", "role", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "role", "email"], name="contact_unique_role_email_per_account"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}> ({self.get_role_display()})"


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
    right = models.PositiveSmallIntegerField(
        _("right"), choices=Right.choices, default=Right.CONSULT
    )
    # Account administration (adding users, changing rights) is apart from the right level.
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
    # Set when the removed user was told; the task checks it so a retry does not tell twice.
    removal_notified_at = models.DateTimeField(_("user told of removal"), null=True, blank=True)

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


class LinkNotice(models.Model):
    """The e-mail telling one contact about one new link: the delivery row that makes it once.

    Its removal link is bound to this row, expires 30 days after `sent_at` and is spent when
    `used_at` is set.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    link = models.ForeignKey(
        AccountLink, on_delete=models.CASCADE, related_name="notices", verbose_name=_("link")
    )
    # The contact as they were when told; the contact row may change or go later.
    email = models.EmailField(_("recipient e-mail"))
    name = models.CharField(_("recipient name"), max_length=200)
    language = models.CharField(
        _("language"), max_length=5, choices=settings.LANGUAGES, default="en"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    used_at = models.DateTimeField(_("removal link used"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("link notification")
        verbose_name_plural = _("link notifications")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(Lower("email"), "link", name="one_notice_per_link_recipient")
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="linknotice_status_created")]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_status_display()})"


class Investigation(models.Model):
    """A report of unauthorised orders or activity, worked by staff in the admin."""

    class Group(models.TextChoices):
        CREDIT_MANAGEMENT = "credit_management", _("Credit management group")
        SMALL_BUSINESS = "small_business", _("Small business group")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        IN_PROGRESS = "in_progress", _("In progress")
        CLOSED = "closed", _("Closed")

    account = models.ForeignKey(
        BusinessAccount,
        on_delete=models.PROTECT,
        related_name="investigations",
        verbose_name=_("business account"),
    )
    # A linked user reports from the account page; a contact through their removal link.
    reporter_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("reported by (user)"),
    )
    reporter_notice = models.ForeignKey(
        LinkNotice,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="investigations",
        verbose_name=_("reported through the removal link of"),
    )
    reporter_name = models.CharField(_("reporter name"), max_length=200)
    reporter_email = models.EmailField(_("reporter e-mail"))
    description = models.TextField(_("what happened"))
    group = models.CharField(_("routed to"), max_length=20, choices=Group.choices)
    status = models.CharField(
        _("status"), max_length=15, choices=Status.choices, default=Status.OPEN
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_investigations",
        limit_choices_to={"is_staff": True},
        verbose_name=_("assigned to"),
    )
    notes = models.TextField(_("staff notes"), blank=True)
    created_at = models.DateTimeField(_("reported"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("investigation")
        verbose_name_plural = _("investigations")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.account}"


class AuditEvent(models.Model):
    """Append-only record of a security-relevant change: written by accounts.audit.record only."""

    class Event(models.TextChoices):
        LINKED = "linked", _("Account linked")
        LINK_REFUSED = "link_refused", _("Link attempt refused")
        LINK_LOCKED_OUT = "link_locked_out", _("Link attempt during a lock-out")
        LINK_REMOVED = "link_removed", _("Link removed")
        REMOVAL_LINK_REFUSED = "removal_link_refused", _("Removal link refused")
        SUSPICIOUS_ACTIVITY_REPORTED = (
            "suspicious_activity_reported",
            _("Suspicious activity reported"),
        )
        INVESTIGATION_UPDATED = "investigation_updated", _("Investigation updated")

    event = models.CharField(_("event"), max_length=40, choices=Event.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("actor"),
    )
    account = models.ForeignKey(
        BusinessAccount,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_events",
        verbose_name=_("business account"),
    )
    # Copies that keep the row readable after a user or an account is deleted.
    actor_email = models.CharField(_("actor e-mail"), max_length=254, blank=True)
    customer_number = models.CharField(_("customer number"), max_length=10, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    details = models.JSONField(_("details"), default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="auditevent_account_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} · {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args: object, **kwargs: object) -> None:
        # Append-only: an audit row that could be edited would prove nothing.
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]
