import secrets

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models.core import BusinessAccount
from accounts.models.links import LinkNotice

# No 0/O, 1/I/L or U: a reference is read out over the phone to the group that investigates.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_investigation_reference() -> str:
    """A random reference such as "INV-7KQ2-9XM4": tells nothing of how many reports exist."""
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"INV-{code[:4]}-{code[4:]}"


class Investigation(models.Model):
    """A report of unauthorised orders or activity, worked by staff in the admin."""

    class Group(models.TextChoices):
        CREDIT_MANAGEMENT = "credit_management", _("Credit management group")
        SMALL_BUSINESS = "small_business", _("Small business group")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        IN_PROGRESS = "in_progress", _("In progress")
        CLOSED = "closed", _("Closed")

    # What the reporter is given and quotes on the phone; the row id stays internal.
    reference = models.CharField(
        _("reference"),
        max_length=13,
        unique=True,
        default=new_investigation_reference,
        editable=False,
    )
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
        return f"{self.reference} {self.account}"


APPEND_ONLY = "Audit events are append-only."


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """Rows are added one by one, and never changed or removed in bulk either.

    Deleting a user or an account still works: Django clears the foreign keys through the base
    manager, and the row keeps its copies (actor_email, customer_number).
    """

    def update(self, **kwargs: object) -> int:
        raise ValueError(APPEND_ONLY)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ValueError(APPEND_ONLY)


class AuditEvent(models.Model):
    """Append-only record of a security-relevant change: written by accounts.audit.record only."""

    class Event(models.TextChoices):
        LINKED = "linked", _("Account linked")
        LINK_REFUSED = "link_refused", _("Link attempt refused")
        LINK_LOCKED_OUT = "link_locked_out", _("Link attempt during a lock-out")
        LINK_STEP_UP_REQUIRED = (
            "link_step_up_required",
            _("Link attempt asked for a second factor (customer number under attack)"),
        )
        LINK_GUESSING_ALERT = (
            "link_guessing_alert",
            _("Many failed link attempts on one customer number"),
        )
        LINK_REMOVED = "link_removed", _("Link removed")
        REMOVAL_LINK_REFUSED = "removal_link_refused", _("Removal link refused")
        SUSPICIOUS_ACTIVITY_REPORTED = (
            "suspicious_activity_reported",
            _("Suspicious activity reported"),
        )
        INVESTIGATION_UPDATED = "investigation_updated", _("Investigation updated")
        ADMINISTRATOR_MARKED = "administrator_marked", _("Made account administrator")
        ADMINISTRATOR_UNMARKED = "administrator_unmarked", _("No longer account administrator")
        DEFAULT_RIGHT_CHANGED = "default_right_changed", _("Rights of self-linked users changed")
        USER_ADDED = "user_added", _("User added")
        RIGHTS_CHANGED = "rights_changed", _("Rights changed")
        USER_REMOVED = "user_removed", _("User removed")
        PRE_REGISTRATION_SAVED = "pre_registration_saved", _("Pre-registration saved")
        VALIDATION_REQUESTED = "validation_requested", _("Validation requested")
        VALIDATION_APPROVED = "validation_approved", _("Request approved")
        VALIDATION_REJECTED = "validation_rejected", _("Request rejected")
        VALIDATION_STALE = "validation_stale", _("Request refused: its target changed")
        # billing
        CARD_ADDED = "card_added", _("Card added")
        DEFAULT_PAYMENT_METHOD_SET = "default_payment_method_set", _("Default payment method set")
        PAYMENT_METHOD_REMOVED = "payment_method_removed", _("Payment method removed")
        INVOICE_PAID = "invoice_paid", _("Invoice paid online")
        INVOICE_PAYMENT_FAILED = "invoice_payment_failed", _("Invoice payment refused")
        OFFLINE_PAYMENT_RECORDED = "offline_payment_recorded", _("Cheque or transfer recorded")
        CREDIT_TERMS_CHANGED = "credit_terms_changed", _("Credit terms changed")
        SUPPLIER_ACCOUNT_ADDED = "supplier_account_added", _("Supplier account added")
        CHARGE_REFUNDED = "charge_refunded", _("Charge refunded")
        # returns
        POLICY_CREATED = "policy_created", _("Return policy created")
        POLICY_CHANGED = "policy_changed", _("Return policy changed")
        POLICY_ACTIVATED = "policy_activated", _("Return policy activated")
        POLICY_DEACTIVATED = "policy_deactivated", _("Return policy deactivated")
        POLICY_DELETED = "policy_deleted", _("Return policy deleted")
        POLICY_SUSPENDED = "policy_suspended", _("Return policy suspended")
        POLICY_REINSTATED = "policy_reinstated", _("Return policy reinstated")
        RETURN_RECIPIENTS_CHANGED = "return_recipients_changed", _("Returns notifications changed")
        ACCOUNT_CONVERTED = "account_converted", _("Account kind changed")

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

    objects = AuditEventQuerySet.as_manager()

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
            raise ValueError(APPEND_ONLY)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError(APPEND_ONLY)
