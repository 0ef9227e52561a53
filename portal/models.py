"""The portal's shared rows: the outbox's one delivery table, used by every app.

portal imports no app: `account_id` is a plain integer (the account's primary key, for staff's
search and for an app's own queries), not a foreign key.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Delivery(models.Model):
    """One e-mail or text message to one address, sent at most once (see portal.outbox).

    `facts` holds plain JSON values the kind's context builder turns into the message; never a
    secret, except what a kind clears itself once the message is sent.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("Text message")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        # A worker claimed the row and never said how it ended: sent or not, nobody knows.
        UNKNOWN = "unknown", _("Unknown")

    channel = models.CharField(_("channel"), max_length=5, choices=Channel.choices)
    kind = models.CharField(_("kind"), max_length=60)
    address = models.CharField(_("recipient address"), max_length=254)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("recipient"),
    )
    language = models.CharField(
        _("language"), max_length=5, choices=settings.LANGUAGES, default="en"
    )
    account_id = models.PositiveBigIntegerField(
        _("business account id"), null=True, blank=True, db_index=True
    )
    facts = models.JSONField(_("facts"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    next_attempt_at = models.DateTimeField(_("next try"), default=timezone.now)
    # The gate feature that holds the row until it reopens ("" when not held by the gate).
    held_for = models.CharField(_("held by maintenance of"), max_length=40, blank=True)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    enqueued_at = models.DateTimeField(_("handed to the worker"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # The same message to the same person for the same reason exists once.
    dedupe_key = models.CharField(_("deduplication key"), max_length=200, unique=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["status", "claimed_at"], name="delivery_claimed"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.address} ({self.get_status_display()})"
