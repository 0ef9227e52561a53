"""Delivery rows of the delegated-users messages: one row per message, sent at most once.

A service creates the row in its transaction and enqueues its task after commit; the task locks
the row, sends, and marks it, so a retried or redelivered task sends nothing twice and a beat
job can re-queue a row whose task was lost.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from accounts.models.core import BusinessAccount


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """What the e-mail and SMS rows share: state, attempts, and the last error kept for staff."""

    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    language = models.CharField(
        _("language"), max_length=5, choices=settings.LANGUAGES, default="en"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)

    class Meta:
        abstract = True


class EmailDelivery(Delivery):
    """One e-mail of the delegated-users flows; `context` holds ids and plain facts, no secret."""

    class Kind(models.TextChoices):
        WELCOME = "welcome", _("New user: identifier")
        ACCESS_GRANTED = "access_granted", _("Existing profile given access")
        RIGHTS_CHANGED = "rights_changed", _("Rights changed")
        USER_REMOVED = "user_removed", _("Access removed")
        VALIDATION_REQUESTED = "validation_requested", _("Request to validate")
        VALIDATION_DECIDED = "validation_decided", _("Request decided")

    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    account = models.ForeignKey(
        BusinessAccount,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("business account"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("recipient"),
    )
    email = models.EmailField(_("recipient e-mail"))
    context = models.JSONField(_("facts"), default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        verbose_name = _("e-mail delivery")
        verbose_name_plural = _("e-mail deliveries")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"], name="emaildelivery_status")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.email} ({self.get_status_display()})"


class SmsDelivery(Delivery):
    """One text message. The temporary password is made when the message is sent, hashed onto
    the user and texted in the same step: this row never holds it."""

    class Kind(models.TextChoices):
        TEMPORARY_PASSWORD = "temporary_password", _("Temporary password")

    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("recipient"),
    )
    phone = PhoneNumberField(_("mobile phone"), region="CA")

    class Meta:
        verbose_name = _("SMS delivery")
        verbose_name_plural = _("SMS deliveries")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"], name="smsdelivery_status")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.phone} ({self.get_status_display()})"
