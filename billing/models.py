"""Billing: how each business account pays, its cards, its charges, and the invoices (commercial)
or statements (small business) that gather them.

Money is `Decimal` with two places in Canadian dollars (billing.money); taxes are columns, so
totals and reports are sums in the database. Cards are kept as the gateway's ids and what a
person needs to recognise them: never a number or a security code.
"""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import BusinessAccount


def money_field(verbose_name: object, **options: object) -> models.DecimalField:  # type: ignore[type-arg]
    """Canadian dollars to the cent (billing.money)."""
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **options)  # type: ignore[arg-type]


class BillingProfile(models.Model):
    """The billing side of one account: its credit terms and its customer at the gateway."""

    class Terms(models.IntegerChoices):
        DAYS_15 = 15, _("15 days")
        DAYS_30 = 30, _("30 days")

    account = models.OneToOneField(
        BusinessAccount,
        on_delete=models.CASCADE,
        related_name="billing_profile",
        verbose_name=_("business account"),
    )
    # Set by staff for a commercial account with an agreement: it is then billed to account.
    terms_days = models.PositiveSmallIntegerField(
        _("credit terms"), choices=Terms.choices, null=True, blank=True
    )
    gateway_customer_id = models.CharField(
        _("customer at the payment gateway"), max_length=64, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("billing profile")
        verbose_name_plural = _("billing profiles")
        constraints = [
            models.CheckConstraint(
                condition=Q(terms_days__isnull=True) | Q(terms_days__in=[15, 30]),
                name="billing_terms_15_or_30_days",
            )
        ]

    def __str__(self) -> str:
        return str(self.account)


class PaymentMethod(models.Model):
    """A card saved at the gateway, or a postage-meter supplier account recorded by staff."""

    class Kind(models.TextChoices):
        CARD = "CARD", _("Credit card")
        SUPPLIER_ACCOUNT = "SUPPLIER", _("Postage meter supplier account")

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", _("Active")
        EXPIRED = "EXPIRED", _("Expired")
        REMOVED = "REMOVED", _("Removed")

    account = models.ForeignKey(
        BusinessAccount,
        on_delete=models.CASCADE,
        related_name="payment_methods",
        verbose_name=_("business account"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CARD)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    is_default = models.BooleanField(_("default"), default=False)
    # Cards: the gateway's id and what identifies the card to a person.
    gateway_id = models.CharField(_("gateway id"), max_length=64, blank=True)
    brand = models.CharField(_("brand"), max_length=20, blank=True)
    last4 = models.CharField(_("last four digits"), max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(_("expiry month"), null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(_("expiry year"), null=True, blank=True)
    holder_name = models.CharField(_("name on the card"), max_length=200, blank=True)
    # Supplier accounts: the postage meter and the supplier's account it is billed to.
    meter_serial = models.CharField(_("postage meter serial"), max_length=30, blank=True)
    supplier_name = models.CharField(_("meter supplier"), max_length=100, blank=True)
    supplier_account = models.CharField(_("supplier account number"), max_length=30, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("added by"),
    )
    created_at = models.DateTimeField(_("added"), auto_now_add=True)
    expiry_warned_on = models.DateField(_("expiry warning sent"), null=True, blank=True)
    ended_at = models.DateTimeField(_("expired or removed"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")
        ordering = ["-is_default", "-created_at"]
        constraints = [
            # One default per account, and only an active method can be it.
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(is_default=True),
                name="one_default_payment_method_per_account",
            ),
            models.CheckConstraint(
                condition=Q(is_default=False) | Q(status="ACTIVE"),
                name="default_payment_method_is_active",
            ),
            models.UniqueConstraint(
                fields=["gateway_id"], condition=~Q(gateway_id=""), name="one_row_per_gateway_card"
            ),
            models.CheckConstraint(
                condition=~Q(kind="CARD") | (Q(last4__regex=r"^[0-9]{4}$") & ~Q(gateway_id="")),
                name="card_has_gateway_id_and_last4",
            ),
        ]
        indexes = [models.Index(fields=["status", "exp_year", "exp_month"], name="card_expiry")]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        if self.kind == self.Kind.SUPPLIER_ACCOUNT:
            return _("%(supplier)s account %(number)s (meter %(serial)s)") % {
                "supplier": self.supplier_name,
                "number": self.supplier_account,
                "serial": self.meter_serial,
            }
        return _("%(brand)s ending in %(last4)s") % {
            "brand": self.brand.title(),
            "last4": self.last4,
        }

    @property
    def expiry(self) -> str:
        if self.exp_month is None or self.exp_year is None:
            return ""
        return f"{self.exp_month:02d}/{self.exp_year}"

    @property
    def is_card(self) -> bool:
        return self.kind == self.Kind.CARD

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Taxed(models.Model):
    """An amount before tax, each Canadian sales tax on it, and the total (billing.tax)."""

    amount = money_field(_("amount before tax"))
    gst = money_field(_("GST"), default=0)
    hst = money_field(_("HST"), default=0)
    pst = money_field(_("PST"), default=0)
    qst = money_field(_("QST"), default=0)
    total = money_field(_("total"))

    class Meta:
        abstract = True


class Charge(Taxed):
    """A paid service, recorded once per source (a label, a policy's month, ...)."""

    class Status(models.TextChoices):
        AWAITING_INVOICE = "AWAITING_INVOICE", _("To be invoiced")
        INVOICED = "INVOICED", _("Invoiced")
        PAID = "PAID", _("Paid by card")
        SUPPLIER = "SUPPLIER", _("Billed to the supplier account")
        REFUNDED = "REFUNDED", _("Refunded")

    class Kind(models.TextChoices):
        """What is paid for: documents sum their charges by kind and unit price."""

        RETURN_LABEL = "RETURN_LABEL", _("Return labels")
        SERVICE = "SERVICE", _("Other services")

    account = models.ForeignKey(
        BusinessAccount,
        on_delete=models.PROTECT,
        related_name="charges",
        verbose_name=_("business account"),
    )
    kind = models.CharField(
        _("kind"),
        max_length=20,
        choices=Kind.choices,
        default=Kind.SERVICE,
        db_default=Kind.SERVICE,
    )
    description = models.CharField(_("description"), max_length=200)
    source_reference = models.CharField(_("source"), max_length=100)
    quantity = models.PositiveIntegerField(_("shipments"), default=1)
    province = models.CharField(_("province taxed"), max_length=2)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    payment_method = models.ForeignKey(
        PaymentMethod,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="charges",
        verbose_name=_("paid with"),
    )
    gateway_payment_id = models.CharField(_("gateway payment"), max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    invoice = models.ForeignKey(
        "Invoice",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="charges",
        verbose_name=_("invoice"),
    )
    statement = models.ForeignKey(
        "Statement",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="charges",
        verbose_name=_("statement"),
    )
    charged_at = models.DateTimeField(_("charged"))

    class Meta:
        verbose_name = _("charge")
        verbose_name_plural = _("charges")
        ordering = ["-charged_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "source_reference"], name="one_charge_per_source"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="charge_amount_not_negative"),
        ]
        indexes = [
            models.Index(fields=["account", "status", "charged_at"], name="charge_account_status"),
            models.Index(fields=["account", "charged_at"], name="charge_account_time"),
        ]

    def __str__(self) -> str:
        return f"{self.description} ({self.source_reference})"

    @property
    def description_shown(self) -> str:
        """The description in the reader's language, saying when the charge was refunded. The
        books keep a return label's in English (returns.services.charges), so it is made again
        from the label's number; others are shown as they were written."""
        number = self.source_reference.removeprefix(RETURN_LABEL_SOURCE)
        described = self.description
        if self.kind == self.Kind.RETURN_LABEL and number != self.source_reference:
            described = return_label_description(number)
        if self.status == self.Status.REFUNDED:
            return gettext("%(description)s (refunded)") % {"description": described}
        return described


# A return label's charge names its source "label:<tracking number>".
RETURN_LABEL_SOURCE = "label:"


def return_label_description(number: str) -> str:
    """A return label's charge, in the active language (the books write it in English)."""
    return gettext("Return label %(number)s") % {"number": number}


class ChargeRefusal(models.Model):
    """A card refused when a source was charged (billing.services.charges): the next try of that
    source is a new charge at the gateway, while a try whose answer was lost is replayed there,
    never made twice. Support staff read them in the admin."""

    account = models.ForeignKey(
        BusinessAccount,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("business account"),
    )
    source_reference = models.CharField(_("source"), max_length=100)
    payment_method = models.ForeignKey(
        PaymentMethod,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("card"),
    )
    reason = models.CharField(_("reason"), max_length=30)
    refused_at = models.DateTimeField(_("refused"), auto_now_add=True)

    class Meta:
        verbose_name = _("refused charge")
        verbose_name_plural = _("refused charges")
        ordering = ["-refused_at", "-pk"]
        indexes = [
            models.Index(fields=["account", "source_reference"], name="refusal_account_source")
        ]

    def __str__(self) -> str:
        return f"{self.source_reference}: {self.reason}"


class InvoiceNumber(models.Model):
    """The last invoice number given in a year: locked to hand out the next one, so numbers have
    no gap and no repeat."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("invoice numbering")
        verbose_name_plural = _("invoice numbering")

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Invoice(Taxed):
    """One month of a commercial account's charges, payable within its credit terms."""

    class Status(models.TextChoices):
        OPEN = "OPEN", _("Open")
        OVERDUE = "OVERDUE", _("Overdue")
        PAID = "PAID", _("Paid")
        VOID = "VOID", _("Void")

    account = models.ForeignKey(
        BusinessAccount,
        on_delete=models.PROTECT,
        related_name="invoices",
        verbose_name=_("business account"),
    )
    number = models.CharField(_("invoice number"), max_length=20, unique=True)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    issued_on = models.DateField(_("issued"))
    due_on = models.DateField(_("due"))
    terms_days = models.PositiveSmallIntegerField(_("credit terms (days)"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    amount_paid = money_field(_("paid"), default=0)
    paid_at = models.DateTimeField(_("paid on"), null=True, blank=True)
    overdue_notified_on = models.DateField(_("overdue notice sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-period_start", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "period_start"], name="one_invoice_per_account_month"
            ),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0) & Q(amount_paid__lte=models.F("total")),
                name="invoice_paid_within_total",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "-period_start"], name="invoice_account_period"),
            models.Index(fields=["status", "due_on"], name="invoice_status_due"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def balance(self):  # type: ignore[no-untyped-def]
        return self.total - self.amount_paid

    @property
    def is_payable(self) -> bool:
        return self.status in (self.Status.OPEN, self.Status.OVERDUE) and self.balance > 0


class Payment(models.Model):
    """One attempt to pay an invoice: online with a saved card, or recorded by staff."""

    class Method(models.TextChoices):
        CARD = "CARD", _("Card, online")
        CHEQUE = "CHEQUE", _("Cheque")
        EFT = "EFT", _("Electronic funds transfer")

    class Status(models.TextChoices):
        PENDING = "PENDING", _("In progress")
        SUCCEEDED = "SUCCEEDED", _("Succeeded")
        FAILED = "FAILED", _("Failed")

    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="payments", verbose_name=_("invoice")
    )
    method = models.CharField(_("method"), max_length=10, choices=Method.choices)
    payment_method = models.ForeignKey(
        PaymentMethod,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
        verbose_name=_("card"),
    )
    amount = money_field(_("amount"), validators=[MinValueValidator(0.01)])
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    # Sent to the gateway: a retried or doubled request reuses the attempt, never pays twice.
    idempotency_key = models.CharField(_("idempotency key"), max_length=80, unique=True)
    gateway_payment_id = models.CharField(_("gateway payment"), max_length=64, blank=True)
    reference = models.CharField(_("cheque or transfer reference"), max_length=60, blank=True)
    failure = models.CharField(_("why it failed"), max_length=200, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("paid by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status="SUCCEEDED"),
                name="one_successful_payment_per_invoice",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice} — {self.amount}"


class Statement(Taxed):
    """A month of a small business's charges paid at order time: the FAQ's statement."""

    account = models.ForeignKey(
        BusinessAccount,
        on_delete=models.PROTECT,
        related_name="statements",
        verbose_name=_("business account"),
    )
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    issued_on = models.DateField(_("issued"))
    charge_count = models.PositiveIntegerField(_("charges"), default=0)

    class Meta:
        verbose_name = _("statement of charges")
        verbose_name_plural = _("statements of charges")
        ordering = ["-period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "period_start"], name="one_statement_per_account_month"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account.customer_number} {self.period_start:%Y-%m}"


class UpgradeReview(models.Model):
    """A small business whose last 12 months crossed the thresholds: sales staff call it."""

    class Status(models.TextChoices):
        OPEN = "OPEN", _("To contact")
        CONTACTED = "CONTACTED", _("Contacted")
        CONVERTED = "CONVERTED", _("Converted to commercial")
        DECLINED = "DECLINED", _("Stays small business")

    account = models.ForeignKey(
        BusinessAccount,
        on_delete=models.CASCADE,
        related_name="upgrade_reviews",
        verbose_name=_("business account"),
    )
    opened_on = models.DateField(_("opened"))
    shipments = models.PositiveIntegerField(_("shipments, last 12 months"))
    revenue = money_field(_("revenue before tax, last 12 months"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("upgrade review")
        verbose_name_plural = _("upgrade reviews")
        ordering = ["-opened_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status__in=["OPEN", "CONTACTED"]),
                name="one_open_upgrade_review_per_account",
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} ({self.opened_on})"
