"""Who is told about returns by e-mail ("Paramètres des avis"): at most four per account."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import BusinessAccount

MAX_RECIPIENTS = 4


class NotificationRecipient(models.Model):
    class Mode(models.TextChoices):
        EACH = "EACH", _("One e-mail per return and event")
        DAILY = "DAILY", _("A daily summary")

    account = models.ForeignKey(
        BusinessAccount,
        on_delete=models.CASCADE,
        related_name="return_recipients",
        verbose_name=_("business account"),
    )
    email = models.EmailField(_("e-mail"))
    language = models.CharField(
        _("language"), max_length=5, choices=settings.LANGUAGES, default="en"
    )
    on_accepted = models.BooleanField(_("received at the post office"), default=True)
    on_exception = models.BooleanField(_("exception"), default=True)
    on_delivered = models.BooleanField(_("delivered"), default=True)
    mode = models.CharField(_("how"), max_length=5, choices=Mode.choices, default=Mode.EACH)
    created_at = models.DateTimeField(_("added"), auto_now_add=True)
    # Set by the one-click unsubscribe link: kept so the address is not e-mailed again.
    unsubscribed_at = models.DateTimeField(_("unsubscribed"), null=True, blank=True)

    class Meta:
        verbose_name = _("returns notification recipient")
        verbose_name_plural = _("returns notification recipients")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["account", "email"], name="one_recipient_per_address")
        ]

    def __str__(self) -> str:
        return self.email

    def wants(self, kind: str) -> bool:
        return {
            "ACCEPTED": self.on_accepted,
            "EXCEPTION": self.on_exception,
            "DELIVERED": self.on_delivered,
        }.get(kind, False) and self.unsubscribed_at is None
