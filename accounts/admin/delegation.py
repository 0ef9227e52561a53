"""Support staff's side of delegated users: pre-registrations and validation requests.

Their e-mails and texts are in the outbox's one list (portal.admin, "Deliveries")."""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts import audit, services
from accounts.models import PreRegistration, ValidationRequest
from accounts.phones import MobileNumberField, for_display
from portal.admin_mixins import ReadOnlyAdminMixin


class PreRegistrationForm(forms.ModelForm):
    """The mobile number with one clear message; the date of birth is checked by the model."""

    mobile_phone = MobileNumberField(
        label=_("mobile phone"),
        help_text=_(
            "The temporary password is texted to this number; administrators cannot change it. "
            "For example 613 555-0123, or +44 7400 123456 abroad."
        ),
    )

    class Meta:
        model = PreRegistration
        fields = [
            "account",
            "last_name",
            "first_name",
            "date_of_birth",
            "mobile_phone",
            "email",
            "language",
        ]


@admin.register(PreRegistration)
class PreRegistrationAdmin(admin.ModelAdmin):
    """The people an account's administrators may add; saved through the service (audited)."""

    form = PreRegistrationForm
    list_display = [
        "last_name",
        "first_name",
        "account",
        "date_of_birth",
        "mobile",
        "email",
        "language",
        "used_at",
        "user",
    ]
    list_filter = [("used_at", admin.EmptyFieldListFilter), "language", "created_at"]
    search_fields = [
        "last_name",
        "first_name",
        "email",
        "mobile_phone",
        "account__customer_number",
        "account__legal_name",
    ]
    list_select_related = ["account", "user"]
    autocomplete_fields = ["account"]
    date_hierarchy = "created_at"
    fields = [
        "account",
        "last_name",
        "first_name",
        "date_of_birth",
        "mobile_phone",
        "email",
        "language",
        "created_at",
        "created_by",
        "used_at",
        "user",
    ]
    readonly_fields = ["mobile", "created_at", "created_by", "used_at", "user"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_fields(request, obj))
        if obj is not None and obj.used_at is not None:  # read-only: the number as people read it
            return ["mobile" if name == "mobile_phone" else name for name in fields]
        return fields

    @admin.display(description=_("mobile phone"), ordering="mobile_phone")
    def mobile(self, obj: PreRegistration) -> str:
        return for_display(obj.mobile_phone)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Once a user was made from it, it is the record of who they were said to be.
        if obj is not None and obj.used_at is not None:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.used_at is not None:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(
        self, request: HttpRequest, obj: PreRegistration, form: Any, change: bool
    ) -> None:
        services.save_pre_registration(
            actor=request.user,  # type: ignore[arg-type]
            pre_registration=obj,
            changed=list(form.changed_data),
            ip=audit.ip_of(request),
        )


REQUEST_FIELDS = (
    "account",
    "kind",
    "state",
    "prepared_by",
    "prepared_at",
    "decided_by",
    "decided_at",
    "reason",
    "payload",
    "fingerprint",
    "result",
)


@admin.register(ValidationRequest)
class ValidationRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: validators decide in the portal, with their second factor."""

    list_display = ["pk", "prepared_at", "account", "kind", "state", "prepared_by", "decided_by"]
    list_display_links = ["pk", "prepared_at"]
    list_filter = ["state", "kind"]
    search_fields = [
        "account__customer_number",
        "account__legal_name",
        "prepared_by__email",
        "decided_by__email",
    ]
    list_select_related = ["account", "prepared_by", "decided_by"]
    date_hierarchy = "prepared_at"
    fields = REQUEST_FIELDS
    readonly_fields = REQUEST_FIELDS
