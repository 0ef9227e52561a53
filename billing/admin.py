"""Support staff's billing tools.

Read-mostly: cards, charges, invoices, payments and statements are written by the services and
jobs only, so no money row can be edited or deleted here. What staff do goes through the
services (audited where the service audits): credit terms, conversions between account kinds,
refunds, and cheques or transfers received. Staff add postage-meter supplier accounts; cards are
added by the account's users through the gateway.
"""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import audit
from accounts.models import BusinessAccount
from billing import services
from billing.exceptions import BillingError, TermsNeedAgreement
from billing.models import (
    BillingProfile,
    Charge,
    ChargeRefusal,
    Invoice,
    InvoiceNumber,
    Payment,
    PaymentMethod,
    Statement,
    UpgradeReview,
)
from billing.services.upgrades import credit_terms_allowed, set_credit_terms
from portal.admin_mixins import ReadOnlyAdmin, ReadOnlyAdminMixin

ACCOUNT_SEARCH = ["account__customer_number", "account__legal_name"]


def _problem(account: object, error: BillingError) -> str:
    return _("%(account)s: %(problem)s") % {"account": account, "problem": error.message}


def _convert(
    modeladmin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    account_ids: list[int],
    to_kind: str,
) -> None:
    """Convert each account through the service; each refusal is its own message."""
    converted = 0
    accounts = BusinessAccount.objects.in_bulk(account_ids)
    for account_id in account_ids:
        try:
            services.convert_account(
                staff=request.user,  # type: ignore[arg-type]
                account_id=account_id,
                to_kind=to_kind,
            )
        except BillingError as refused:
            modeladmin.message_user(
                request, _problem(accounts[account_id], refused), messages.ERROR
            )
        else:
            converted += 1
    if converted:
        modeladmin.message_user(
            request,
            ngettext(
                "%(count)d account converted; its contacts are told by e-mail.",
                "%(count)d accounts converted; their contacts are told by e-mail.",
                converted,
            )
            % {"count": converted},
            messages.SUCCESS,
        )


def _may_convert(request: HttpRequest) -> bool:
    return request.user.has_perm("accounts.change_businessaccount")


# --- billing profiles: credit terms and conversions ---------------------------------------------


class BillingProfileForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = BillingProfile
        fields = ["account", "terms_days"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        account = cleaned.get("account") or getattr(self.instance, "account", None)
        if cleaned.get("terms_days") and account is not None and not credit_terms_allowed(account):
            self.add_error("terms_days", str(TermsNeedAgreement.message))
        return cleaned


@admin.register(BillingProfile)
class BillingProfileAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Credit terms are granted here (saved by the service, audited); conversions are actions."""

    form = BillingProfileForm
    list_display = ["account", "account_kind", "terms_days", "has_gateway_customer"]
    list_filter = ["terms_days", "account__kind"]
    search_fields = ACCOUNT_SEARCH
    list_select_related = ["account"]
    autocomplete_fields = ["account"]
    fields = ["account", "terms_days", "gateway_customer_id"]
    actions = ["convert_to_commercial", "convert_to_small_business"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The profile stays with its account: its cards and gateway customer are that account's.
        return ["account", "gateway_customer_id"] if obj is not None else ["gateway_customer_id"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("kind"), ordering="account__kind")
    def account_kind(self, profile: BillingProfile) -> str:
        return profile.account.get_kind_display()

    @admin.display(description=_("customer at the payment gateway"), boolean=True)
    def has_gateway_customer(self, profile: BillingProfile) -> bool:
        return bool(profile.gateway_customer_id)

    def save_model(
        self, request: HttpRequest, obj: BillingProfile, form: Any, change: bool
    ) -> None:
        profile = set_credit_terms(
            staff=request.user,  # type: ignore[arg-type]
            account_id=obj.account_id,
            terms_days=obj.terms_days,
            ip=audit.ip_of(request),
        )
        obj.pk = profile.pk
        obj.gateway_customer_id = profile.gateway_customer_id

    @admin.action(
        description=_("Convert to commercial (keeps paying when ordering)"),
        permissions=["convert"],
    )
    def convert_to_commercial(
        self, request: HttpRequest, queryset: QuerySet[BillingProfile]
    ) -> None:
        ids = list(queryset.values_list("account_id", flat=True))
        _convert(self, request, ids, BusinessAccount.Kind.COMMERCIAL)

    @admin.action(
        description=_("Convert to small business (ends the agreements and credit terms)"),
        permissions=["convert"],
    )
    def convert_to_small_business(
        self, request: HttpRequest, queryset: QuerySet[BillingProfile]
    ) -> None:
        ids = list(queryset.values_list("account_id", flat=True))
        _convert(self, request, ids, BusinessAccount.Kind.SMALL_BUSINESS)

    def has_convert_permission(self, request: HttpRequest) -> bool:
        return _may_convert(request)


# --- payment methods: cards shown, supplier accounts added ---------------------------------------

SUPPLIER_FIELDS = ("account", "supplier_name", "supplier_account", "meter_serial")
CARD_FIELDS = (
    "account",
    "kind",
    "status",
    "is_default",
    "brand",
    "last4",
    "expiry",
    "holder_name",
    "gateway_id",
    "added_by",
    "created_at",
    "expiry_warned_on",
    "ended_at",
)
SUPPLIER_VIEW_FIELDS = (
    "account",
    "kind",
    "status",
    "is_default",
    *SUPPLIER_FIELDS[1:],
    "added_by",
    "created_at",
    "ended_at",
)


class SupplierAccountForm(forms.ModelForm):  # type: ignore[type-arg]
    """A postage meter and the supplier account it is billed to: every field is needed."""

    class Meta:
        model = PaymentMethod
        fields = SUPPLIER_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in SUPPLIER_FIELDS:
            self.fields[name].required = True


@admin.register(PaymentMethod)
class PaymentMethodAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Cards are read-only (the account's users add and remove them through the gateway).
    Staff add a postage meter's supplier account; it becomes the default when the account has
    no other usable method. Removing one is done in the portal (told to the billing contacts)."""

    list_display = ["__str__", "account", "kind", "status", "is_default", "expiry", "created_at"]
    list_filter = ["kind", "status", "is_default"]
    search_fields = [
        *ACCOUNT_SEARCH,
        "last4",
        "holder_name",
        "meter_serial",
        "supplier_account",
        "supplier_name",
    ]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]
    date_hierarchy = "created_at"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return SUPPLIER_FIELDS
        return CARD_FIELDS if obj.is_card else SUPPLIER_VIEW_FIELDS

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.get_fields(request, obj)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):  # type: ignore[no-untyped-def]
        if obj is None:
            kwargs["form"] = SupplierAccountForm
            kwargs["fields"] = SUPPLIER_FIELDS
        return super().get_form(request, obj, change, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: PaymentMethod, form: Any, change: bool) -> None:
        saved = services.add_supplier_account(
            staff=request.user,  # type: ignore[arg-type]
            account=obj.account,
            supplier_name=obj.supplier_name,
            supplier_account=obj.supplier_account,
            meter_serial=obj.meter_serial,
        )
        obj.pk, obj.is_default = saved.pk, saved.is_default  # the admin links to what was saved


# --- charges: read-only, refunds --------------------------------------------------------------

CHARGE_FIELDS = (
    "account",
    "kind",
    "description",
    "source_reference",
    "quantity",
    "province",
    "amount",
    "gst",
    "hst",
    "pst",
    "qst",
    "total",
    "status",
    "payment_method",
    "gateway_payment_id",
    "attempts",
    "invoice",
    "statement",
    "charged_at",
)


@admin.register(Charge)
class ChargeAdmin(ReadOnlyAdmin):
    list_display = [
        "charged_at",
        "account",
        "description",
        "quantity",
        "amount",
        "total",
        "status",
        "invoice",
    ]
    list_filter = ["status", "kind", "province", "charged_at"]
    search_fields = [*ACCOUNT_SEARCH, "source_reference", "description", "gateway_payment_id"]
    list_select_related = ["account", "invoice"]
    date_hierarchy = "charged_at"
    fields = CHARGE_FIELDS
    readonly_fields = CHARGE_FIELDS
    actions = ["refund"]

    @admin.action(description=_("Refund the selected card charges in full"), permissions=["refund"])
    def refund(self, request: HttpRequest, queryset: QuerySet[Charge]) -> HttpResponse | None:
        refundable = list(
            queryset.filter(status=Charge.Status.PAID)
            .exclude(gateway_payment_id="")
            .select_related("account")
        )
        left = queryset.count() - len(refundable)
        if refundable and "confirm" not in request.POST:
            # Money goes back to the card: staff see exactly what first.
            context = {
                **self.admin_site.each_context(request),
                "title": _("Refund these charges?"),
                "charges": refundable,
                "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
                "opts": self.model._meta,
            }
            return TemplateResponse(request, "admin/billing/confirm_refund.html", context)
        refunded = 0
        for charge in refundable:
            try:
                done = services.refund_charge(staff=request.user, charge_id=charge.pk)  # type: ignore[arg-type]
            except BillingError as refused:
                self.message_user(request, _problem(charge, refused), messages.ERROR)
                continue
            if done.status == Charge.Status.REFUNDED:
                refunded += 1
            else:
                left += 1
        if refunded:
            self.message_user(
                request,
                ngettext("%(count)d charge refunded.", "%(count)d charges refunded.", refunded)
                % {"count": refunded},
                messages.SUCCESS,
            )
        if left:
            self.message_user(
                request,
                ngettext(
                    "%(count)d charge was left alone: only charges paid by card can be refunded.",
                    "%(count)d charges were left alone: only charges paid by card can be refunded.",
                    left,
                )
                % {"count": left},
                messages.WARNING,
            )
        return None

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("billing.change_charge")


# --- invoices: read-only, cheques and transfers recorded ----------------------------------------


INLINE_CHARGE_FIELDS = ("charged_at", "description", "quantity", "amount", "total", "status")


class ChargeInline(ReadOnlyAdminMixin, admin.TabularInline):  # type: ignore[type-arg]
    model = Charge
    extra = 0
    fields = INLINE_CHARGE_FIELDS
    readonly_fields = INLINE_CHARGE_FIELDS
    show_change_link = True


class InvoiceChargeInline(ChargeInline):
    fk_name = "invoice"


class StatementChargeInline(ChargeInline):
    fk_name = "statement"


PAYMENT_FIELDS = (
    "created_at",
    "method",
    "amount",
    "status",
    "payment_method",
    "reference",
    "paid_by",
    "failure",
)


class PaymentInline(ReadOnlyAdminMixin, admin.TabularInline):  # type: ignore[type-arg]
    model = Payment
    extra = 0
    fields = PAYMENT_FIELDS
    readonly_fields = PAYMENT_FIELDS

    def get_queryset(self, request: HttpRequest) -> QuerySet[Payment]:
        return super().get_queryset(request).select_related("payment_method", "paid_by")


class OfflinePaymentForm(forms.Form):
    method = forms.ChoiceField(
        label=_("Received as"),
        choices=[
            (Payment.Method.CHEQUE, Payment.Method.CHEQUE.label),
            (Payment.Method.EFT, Payment.Method.EFT.label),
        ],
    )
    amount = forms.DecimalField(
        label=_("Amount received"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text=_("The invoice's whole balance: a partial payment cannot be recorded."),
    )
    reference = forms.CharField(
        label=_("Cheque or transfer reference"),
        max_length=60,
        help_text=_("The cheque number, or the transfer's confirmation number."),
    )


INVOICE_FIELDS = (
    "number",
    "account",
    "status",
    "period_start",
    "period_end",
    "issued_on",
    "terms_days",
    "due_on",
    "amount",
    "gst",
    "hst",
    "pst",
    "qst",
    "total",
    "amount_paid",
    "balance",
    "paid_at",
    "overdue_notified_on",
)


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "account",
        "period_start",
        "issued_on",
        "due_on",
        "total",
        "amount_paid",
        "status",
    ]
    list_filter = ["status", "terms_days", "issued_on"]
    search_fields = ["number", *ACCOUNT_SEARCH]
    list_select_related = ["account"]
    date_hierarchy = "issued_on"
    fields = INVOICE_FIELDS
    readonly_fields = INVOICE_FIELDS
    inlines = [PaymentInline, InvoiceChargeInline]
    actions = ["record_offline_payment"]

    @admin.display(description=_("balance"))
    def balance(self, invoice: Invoice) -> Decimal:
        return invoice.balance  # type: ignore[no-any-return]

    @admin.action(
        description=_("Record a cheque or transfer for the selected invoice"),
        permissions=["record"],
    )
    def record_offline_payment(
        self, request: HttpRequest, queryset: QuerySet[Invoice]
    ) -> HttpResponse | None:
        """A cheque or transfer received: a form page, then the service (audited, the billing
        contacts told). A refusal is shown on the form page as a message, nothing recorded."""
        if queryset.count() != 1:
            self.message_user(
                request,
                _("Choose one invoice: a cheque or transfer pays one invoice."),
                messages.WARNING,
            )
            return None
        invoice = queryset.select_related("account").get()
        change_url = reverse("admin:billing_invoice_change", args=[invoice.pk])
        form = OfflinePaymentForm(request.POST if "record" in request.POST else None)
        if form.is_bound and form.is_valid():
            try:
                services.record_offline_payment(
                    staff=request.user,  # type: ignore[arg-type]
                    invoice_id=invoice.pk,
                    method=form.cleaned_data["method"],
                    amount=form.cleaned_data["amount"],
                    reference=form.cleaned_data["reference"],
                )
            except BillingError as refused:
                self.message_user(request, str(refused.message), messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("Payment recorded: invoice %(number)s is paid.") % {"number": invoice.number},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Record a cheque or transfer"),
            "invoice": invoice,
            "form": form,
            "change_url": change_url,
            "selected": [invoice.pk],
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/billing/record_payment.html", context)

    def has_record_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("billing.add_payment")


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "invoice", "method", "amount", "status", "reference", "paid_by"]
    list_filter = ["method", "status", "created_at"]
    search_fields = [
        "invoice__number",
        "invoice__account__customer_number",
        "invoice__account__legal_name",
        "reference",
        "gateway_payment_id",
    ]
    list_select_related = ["invoice", "paid_by"]
    date_hierarchy = "created_at"
    exclude = ["idempotency_key"]


@admin.register(ChargeRefusal)
class ChargeRefusalAdmin(ReadOnlyAdmin):
    list_display = ["refused_at", "account", "source_reference", "payment_method", "reason"]
    list_filter = ["reason", "refused_at"]
    search_fields = [*ACCOUNT_SEARCH, "source_reference"]
    list_select_related = ["account", "payment_method"]
    date_hierarchy = "refused_at"


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    list_display = ["account", "period_start", "issued_on", "charge_count", "amount", "total"]
    list_filter = ["issued_on"]
    search_fields = ACCOUNT_SEARCH
    list_select_related = ["account"]
    date_hierarchy = "period_start"
    inlines = [StatementChargeInline]


@admin.register(InvoiceNumber)
class InvoiceNumberAdmin(ReadOnlyAdmin):
    """The last number given each year: the monthly close hands out the next one."""

    list_display = ["year", "last"]


# --- upgrade reviews: sales staff's follow-up -------------------------------------------------


class UpgradeReviewForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = UpgradeReview
        fields = ["status", "notes"]

    def clean_status(self) -> str:
        status: str = self.cleaned_data["status"]
        account = self.instance.account
        if (
            status == UpgradeReview.Status.CONVERTED
            and account.kind != BusinessAccount.Kind.COMMERCIAL
        ):
            raise forms.ValidationError(
                _(
                    "The account is still a small business: use the action “Convert to "
                    "commercial”, which converts it, tells its contacts and closes the review."
                )
            )
        return status


@admin.register(UpgradeReview)
class UpgradeReviewAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Sales staff call the account, note what was said, and convert it when agreed."""

    form = UpgradeReviewForm
    list_display = ["account", "opened_on", "shipments", "revenue", "status"]
    list_filter = ["status", "opened_on"]
    search_fields = [*ACCOUNT_SEARCH, "notes"]
    list_select_related = ["account"]
    date_hierarchy = "opened_on"
    fields = ["account", "opened_on", "shipments", "revenue", "status", "notes"]
    readonly_fields = ["account", "opened_on", "shipments", "revenue"]
    actions = ["convert_to_commercial"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the monthly job opens them

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(
        description=_("Convert to commercial (keeps paying when ordering)"),
        permissions=["convert"],
    )
    def convert_to_commercial(
        self, request: HttpRequest, queryset: QuerySet[UpgradeReview]
    ) -> None:
        ids = list(queryset.values_list("account_id", flat=True).distinct())
        _convert(self, request, ids, BusinessAccount.Kind.COMMERCIAL)

    def has_convert_permission(self, request: HttpRequest) -> bool:
        return _may_convert(request)
