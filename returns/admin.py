"""Support staff's returns tools.

Read-mostly: policies, labels, tracking events and the daily counts are written by the services
and jobs only. What staff do goes through the services (audited): lifting a policy's suspension
once its cause is fixed, which also charges the labels left owed.
"""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from portal.admin_mixins import ReadOnlyAdmin, ReadOnlyAdminMixin
from returns.exceptions import ReturnsError
from returns.models import (
    DailyReturns,
    NotificationRecipient,
    ReturnLabel,
    ReturnPolicy,
    TrackingEvent,
)
from returns.services.policies import reinstate_policy

# A policy id users quote fits a bigint: longer digit runs are not ids.
MAX_ID_DIGITS = 18
ACCOUNT_SEARCH = ["account__customer_number", "account__legal_name"]


class DeletedFilter(admin.SimpleListFilter):
    title = _("deleted")
    parameter_name = "deleted"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Deleted")), ("no", _("Not deleted"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        return queryset


POLICY_FIELDS = (
    "reference",
    "account",
    "name",
    "status",
    "suspended_because",
    "suspended_at",
    "channel",
    "service",
    "return_name",
    "return_street",
    "return_city",
    "return_province",
    "return_postal_code",
    "contract",
    "payment_method",
    "instructions",
    "return_window_days",
    "created_by",
    "created_at",
    "updated_at",
    "deleted_at",
)


@admin.register(ReturnPolicy)
class ReturnPolicyAdmin(ReadOnlyAdmin):
    """Policies as their users set them; a suspension is lifted with the action."""

    list_display = [
        "reference",
        "name",
        "account",
        "status",
        "suspended_because",
        "channel",
        "service",
        "paid_by",
        "created_at",
        "deleted_at",
    ]
    list_filter = ["status", "suspended_because", "channel", "service", DeletedFilter]
    search_fields = ["name", *ACCOUNT_SEARCH]
    list_select_related = ["account", "contract", "payment_method"]
    date_hierarchy = "created_at"
    fields = POLICY_FIELDS
    readonly_fields = POLICY_FIELDS
    actions = ["reinstate"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ReturnPolicy], search_term: str
    ) -> tuple[QuerySet[ReturnPolicy], bool]:
        """Also finds a policy by the id users quote: "RP-000042" (or "rp-42", "42")."""
        found, duplicates = super().get_search_results(request, queryset, search_term)
        number = search_term.strip().upper().removeprefix("RP-").removeprefix("RP")
        # ASCII digits only ("²".isdigit() is true, and int() refuses it), within a bigint.
        if number.isascii() and number.isdigit() and len(number) <= MAX_ID_DIGITS:
            found = found | queryset.filter(pk=int(number))
        return found, duplicates

    @admin.display(description=_("reference"), ordering="pk")
    def reference(self, policy: ReturnPolicy) -> str:
        return policy.reference

    @admin.display(description=_("paid by"))
    def paid_by(self, policy: ReturnPolicy) -> str:
        if policy.contract is not None:
            return str(_("Agreement %(number)s") % {"number": policy.contract.number})
        return policy.payment_method.label if policy.payment_method is not None else "—"

    @admin.action(
        description=_("Reinstate the selected suspended policies"), permissions=["reinstate"]
    )
    def reinstate(self, request: HttpRequest, queryset: QuerySet[ReturnPolicy]) -> None:
        """Through the service (audited, the users told, owed charges retried); each refusal
        (not suspended, its cause not fixed) is its own message."""
        reinstated = 0
        for policy in queryset.order_by("pk"):
            try:
                reinstate_policy(staff=request.user, policy_id=policy.pk)  # type: ignore[arg-type]
            except ReturnsError as refused:
                self.message_user(
                    request,
                    _("%(policy)s: %(problem)s") % {"policy": policy.reference, "problem": refused},
                    messages.ERROR,
                )
            else:
                reinstated += 1
        if reinstated:
            self.message_user(
                request,
                ngettext(
                    "%(count)d policy reinstated; its users are told by e-mail.",
                    "%(count)d policies reinstated; their users are told by e-mail.",
                    reinstated,
                )
                % {"count": reinstated},
                messages.SUCCESS,
            )

    def has_reinstate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("returns.change_returnpolicy")


LABEL_FIELDS = (
    "tracking_number",
    "policy",
    "account",
    "state",
    "channel",
    "service",
    "counter_code",
    "customer_name",
    "customer_email",
    "customer_language",
    "order_reference",
    "purchase_date",
    "from_street",
    "from_city",
    "from_province",
    "from_postal_code",
    "issued_at",
    "accepted_at",
    "delivered_at",
    "charged_at",
    "charge_owed",
)


class EventInline(ReadOnlyAdminMixin, admin.TabularInline):  # type: ignore[type-arg]
    model = TrackingEvent
    extra = 0
    fields = ("occurred_at", "kind", "place", "received_at", "applied_at")
    readonly_fields = fields


@admin.register(ReturnLabel)
class ReturnLabelAdmin(ReadOnlyAdmin):
    list_display = [
        "tracking_number",
        "policy",
        "account",
        "state",
        "order_reference",
        "customer_email",
        "issued_at",
        "charged_at",
        "charge_owed",
    ]
    list_filter = ["state", "channel", "service", "charge_owed"]
    search_fields = ["tracking_number", "order_reference", "customer_email", *ACCOUNT_SEARCH]
    list_select_related = ["policy", "account"]
    date_hierarchy = "issued_at"
    fields = LABEL_FIELDS
    readonly_fields = LABEL_FIELDS
    inlines = [EventInline]


EVENT_FIELDS = ("label", "account", "kind", "occurred_at", "place", "received_at", "applied_at")


@admin.register(TrackingEvent)
class TrackingEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "label", "kind", "place", "account", "applied_at"]
    list_filter = ["kind", "occurred_at"]
    search_fields = ["label__tracking_number", *ACCOUNT_SEARCH]
    list_select_related = ["label", "account"]
    date_hierarchy = "occurred_at"
    fields = EVENT_FIELDS
    readonly_fields = EVENT_FIELDS


@admin.register(DailyReturns)
class DailyReturnsAdmin(ReadOnlyAdmin):
    list_display = ["day", "account", "accepted", "exceptions", "delivered"]
    list_filter = ["day"]
    search_fields = ACCOUNT_SEARCH
    list_select_related = ["account"]
    date_hierarchy = "day"


RECIPIENT_FIELDS = (
    "account",
    "email",
    "language",
    "mode",
    "on_accepted",
    "on_exception",
    "on_delivered",
    "created_at",
    "unsubscribed_at",
)


@admin.register(NotificationRecipient)
class NotificationRecipientAdmin(ReadOnlyAdmin):
    """Who is told about returns: the account's users keep the list (Notification settings)."""

    list_display = ["email", "account", "mode", "language", "created_at", "unsubscribed_at"]
    list_filter = ["mode", "language"]
    search_fields = ["email", *ACCOUNT_SEARCH]
    list_select_related = ["account"]
    fields = RECIPIENT_FIELDS
    readonly_fields = RECIPIENT_FIELDS
