import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from accounts.models.core import BusinessAccount
from accounts.phones import validate_mobile_number

OLDEST_AGE_YEARS = 120


def validate_date_of_birth(value: datetime.date) -> None:
    """Refuse a date of birth in the future or more than 120 years ago: a typing mistake."""
    today = timezone.localdate()
    try:
        oldest = today.replace(year=today.year - OLDEST_AGE_YEARS)
    except ValueError:  # 29 February
        oldest = today.replace(year=today.year - OLDEST_AGE_YEARS, day=28)
    if not oldest <= value <= today:
        raise ValidationError(
            _("Enter a date of birth in the past, at most %(years)s years ago."),
            code="unlikely_date_of_birth",
            params={"years": OLDEST_AGE_YEARS},
        )


class PreRegistration(models.Model):
    """A person support staff entered for an account: the only people its administrators add.

    Spent once an administrator turns it into a user (`used_at`, `user`).
    """

    account = models.ForeignKey(
        BusinessAccount,
        on_delete=models.CASCADE,
        related_name="pre_registrations",
        verbose_name=_("business account"),
    )
    last_name = models.CharField(_("last name"), max_length=150)
    first_name = models.CharField(_("first name"), max_length=150)
    date_of_birth = models.DateField(_("date of birth"), validators=[validate_date_of_birth])
    # The only source of the number the temporary password is texted to: administrators cannot
    # change it, support staff can.
    mobile_phone = PhoneNumberField(
        _("mobile phone"), region="CA", validators=[validate_mobile_number]
    )
    email = models.EmailField(
        _("e-mail"),
        blank=True,
        help_text=_(
            "When given, the person's identifier: the administrator cannot change it. Left "
            "empty, the administrator enters it. Either way the person confirms it."
        ),
    )
    language = models.CharField(
        _("language"),
        max_length=5,
        choices=settings.LANGUAGES,
        default="en",
        help_text=_("Language of the e-mails and text message the person receives."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("entered by"),
    )
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pre_registrations",
        verbose_name=_("user created"),
    )

    class Meta:
        verbose_name = _("pre-registration")
        verbose_name_plural = _("pre-registrations")
        ordering = ["last_name", "first_name", "pk"]
        indexes = [
            models.Index(fields=["account", "used_at"], name="preregistration_account_used"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class ValidationRequest(models.Model):
    """Something a preparer (MANAGE) asked for that a validator (VALIDATE) must commit.

    `kind` names an action of accounts.validation's registry, `payload` says exactly what it will
    do, and `fingerprint` is the state of its target when prepared: approving a request whose
    target changed since is refused, never applied stale.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        STALE = "stale", _("Refused: changed meanwhile")

    account = models.ForeignKey(
        BusinessAccount,
        on_delete=models.CASCADE,
        related_name="validation_requests",
        verbose_name=_("business account"),
    )
    kind = models.CharField(_("action"), max_length=60)
    payload = models.JSONField(_("what it will do"), encoder=DjangoJSONEncoder)
    fingerprint = models.CharField(_("target state"), max_length=64)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("prepared by"),
    )
    prepared_at = models.DateTimeField(_("prepared"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        verbose_name = _("validation request")
        verbose_name_plural = _("validation requests")
        ordering = ["-prepared_at", "-pk"]
        indexes = [
            models.Index(
                fields=["account", "state", "-prepared_at"], name="validation_account_state"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} ({self.get_state_display()})"

    @property
    def is_pending(self) -> bool:
        return self.state == self.State.PENDING

    @property
    def label(self) -> str:
        """What the request does, in words (from the registry of the app that registered it)."""
        from accounts import validation

        try:
            return str(validation.action_for(self.kind).label)
        except validation.UnknownAction:
            return self.kind
