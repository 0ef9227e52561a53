from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from localflavor.ca.models import CAPostalCodeField, CAProvinceField

from accounts.models.levels import DEFAULT_RIGHT_CHOICES, HIGHEST_DEFAULT_RIGHT, Right
from portal.postal import validate_postal_code

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
    # Set while the password is the temporary one texted to a delegated user: it must be
    # replaced at first sign-in and is refused once this moment has passed.
    temporary_password_expires_at = models.DateTimeField(
        _("temporary password expires"), null=True, blank=True
    )
    # A delegated user enrols a second factor before anything else; lowered once enrolled.
    must_enrol_second_factor = models.BooleanField(
        _("must set up two-factor authentication"), default=False
    )

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """How pages, e-mails and messages name the person: "First Last", or their e-mail
        address when the profile has no name (allauth's sign-in message too, through
        ACCOUNT_USER_DISPLAY). Never the username, which sign-up makes up from the address."""
        return self.get_full_name() or self.email or self.username

    def has_temporary_password(self) -> bool:
        return self.temporary_password_expires_at is not None

    def temporary_password_expired(self) -> bool:
        expires = self.temporary_password_expires_at
        return expires is not None and expires <= timezone.now()


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
    # What a user who links the account themselves receives on the whole account; its
    # administrators choose it (PRIMARY contacts become administrators with every right). At
    # most MANAGE: knowing the account's numbers must never be enough to validate.
    default_right = models.PositiveSmallIntegerField(
        _("rights of self-linked users"), choices=DEFAULT_RIGHT_CHOICES, default=Right.CONSULT
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("business account")
        verbose_name_plural = _("business accounts")
        ordering = ["legal_name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(default_right__lte=HIGHEST_DEFAULT_RIGHT),
                name="default_right_at_most_manage",
            )
        ]

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
