from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import audit, services
from accounts.exceptions import LastAdministrator
from accounts.models import (
    AccountLink,
    AuditEvent,
    BusinessAccount,
    Contact,
    Contract,
    Grant,
    Investigation,
    LinkNotice,
    User,
)
from accounts.rightsets import RightSet
from outages.gate import FeatureClosed
from portal.admin_mixins import ReadOnlyAdminMixin


class ContractInline(admin.TabularInline):
    model = Contract
    extra = 0


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0


@admin.register(BusinessAccount)
class BusinessAccountAdmin(admin.ModelAdmin):
    list_display = ["customer_number", "legal_name", "kind", "city", "postal_code"]
    list_filter = ["kind", "province"]
    search_fields = ["customer_number", "legal_name", "postal_code", "contacts__email"]
    inlines = [ContractInline, ContactInline]
    # The account's administrators choose it in the portal (audited there).
    readonly_fields = ["default_right"]


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = ["number", "account", "kind", "status", "starts_on", "ends_on"]
    list_filter = ["kind", "status"]
    search_fields = ["number", "account__customer_number", "account__legal_name"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Once saved, a contract stays with its account: its grants were given by that account's
        # administrators to that account's users (accounts.rights ignores them after a move).
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "account"] if obj is not None else readonly


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "role", "language", "account"]
    list_filter = ["role", "language"]
    search_fields = ["name", "email", "account__customer_number", "account__legal_name"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    list_display = [
        "email",
        "first_name",
        "last_name",
        "language",
        "is_staff",
        "is_active",
        "last_login",
    ]
    list_filter = ["is_staff", "is_active", "language"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        (
            _("Portal"),
            {
                "fields": [
                    "language",
                    "temporary_password_expires_at",
                    "must_enrol_second_factor",
                ]
            },
        ),
    )
    readonly_fields = ["temporary_password_expires_at", "must_enrol_second_factor"]


NOTICE_FIELDS = ("email", "name", "language", "created_at", "sent_at", "used_at")
AUDIT_FIELDS = (
    "created_at",
    "event",
    "actor",
    "actor_email",
    "account",
    "customer_number",
    "ip",
    "details",
)


class GrantInline(ReadOnlyAdminMixin, admin.TabularInline):
    """A link's rights, read-only: administrators change them in the portal (audited, the
    user told); staff make administrators with the action on the list."""

    model = Grant
    extra = 0
    fields = ["contract", "level"]
    readonly_fields = ["contract", "level"]


class LinkNoticeInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = LinkNotice
    extra = 0
    fields = NOTICE_FIELDS
    readonly_fields = NOTICE_FIELDS


@admin.register(AccountLink)
class AccountLinkAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who acts for which account and with which rights, read-only: staff change links only with
    the actions, through the services (audited): removal, and making or unmaking administrators.
    Users link themselves; administrators add users and choose rights in the portal."""

    list_display = [
        "user",
        "account",
        "status",
        "rights_summary",
        "is_administrator",
        "method",
        "created_at",
        "removed_at",
        "removed_via",
    ]
    list_filter = ["status", "method", "removed_via", "is_administrator"]
    search_fields = [
        "user__email",
        "user__last_name",
        "account__customer_number",
        "account__legal_name",
    ]
    list_select_related = ["user", "account"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "user",
        "account",
        "status",
        "is_administrator",
        "method",
        "created_by",
        "created_at",
        "removed_at",
        "removed_by",
        "removed_via",
    ]
    inlines = [GrantInline, LinkNoticeInline]
    actions = ["remove_links", "make_administrators", "unmake_administrators"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccountLink]:
        return super().get_queryset(request).prefetch_related("grants__contract")

    @admin.display(description=_("rights"))
    def rights_summary(self, link: AccountLink) -> str:
        contracts = [grant.contract for grant in link.grants.all() if grant.contract]
        lines = RightSet.of_link(link).lines(contracts)
        colon = _(":")  # French puts a non-breaking space before it
        return "; ".join(f"{line.label}{colon} {line.words}" for line in lines) or "—"

    @admin.action(description=_("Make the selected users administrators of their account"))
    def make_administrators(self, request: HttpRequest, queryset: QuerySet[AccountLink]) -> None:
        self._administrators(request, queryset, services.mark_administrators)

    @admin.action(description=_("Take the administrator role away from the selected users"))
    def unmake_administrators(self, request: HttpRequest, queryset: QuerySet[AccountLink]) -> None:
        self._administrators(request, queryset, services.unmark_administrators)

    def _administrators(
        self, request: HttpRequest, queryset: QuerySet[AccountLink], service: Any
    ) -> None:
        try:
            changed = service(
                actor=request.user,
                link_ids=queryset.values_list("pk", flat=True),
                ip=audit.ip_of(request),
            )
        except FeatureClosed:
            self.message_user(
                request, _("Delegated users are closed for maintenance."), messages.ERROR
            )
            return
        except LastAdministrator as refused:
            self.message_user(request, str(refused.message), messages.ERROR)
            return
        self.message_user(
            request,
            ngettext("%(count)d link changed.", "%(count)d links changed.", changed)
            % {"count": changed},
            messages.SUCCESS,
        )

    @admin.action(description=_("Remove the selected links (the users are told by e-mail)"))
    def remove_links(self, request: HttpRequest, queryset: QuerySet[AccountLink]) -> None:
        try:
            removed = services.remove_links_by_staff(
                actor=request.user,  # type: ignore[arg-type]
                link_ids=queryset.values_list("pk", flat=True),
                ip=audit.ip_of(request),
            )
        except FeatureClosed:
            self.message_user(request, _("Link removal is closed for maintenance."), messages.ERROR)
            return
        except LastAdministrator as refused:
            self.message_user(request, str(refused.message), messages.ERROR)
            return
        self.message_user(
            request,
            ngettext("%(count)d link removed.", "%(count)d links removed.", removed)
            % {"count": removed},
            messages.SUCCESS,
        )


@admin.register(LinkNotice)
class LinkNoticeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The contacts told of each link and the use of their removal links. Their e-mails' sending
    state (attempts, errors, resend) is in the outbox's list of deliveries."""

    list_display = ["email", "link", "language", "created_at", "sent_at", "used_at"]
    list_filter = ["language"]
    search_fields = [
        "email",
        "name",
        "link__user__email",
        "link__account__customer_number",
        "link__account__legal_name",
    ]
    list_select_related = ["link__user", "link__account"]
    date_hierarchy = "created_at"


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "event", "actor_email", "account", "ip"]
    list_filter = ["event", "created_at"]
    search_fields = ["actor_email", "customer_number", "account__legal_name", "ip"]
    list_select_related = ["account"]
    date_hierarchy = "created_at"
    fields = AUDIT_FIELDS
    readonly_fields = AUDIT_FIELDS


@admin.register(Investigation)
class InvestigationAdmin(admin.ModelAdmin):
    """Staff work reports here: status, assignee and notes; every save is audited."""

    list_display = [
        "reference",
        "created_at",
        "account",
        "group",
        "status",
        "assignee",
        "reporter_email",
    ]
    list_display_links = ["reference", "created_at"]
    list_filter = [
        "status",
        "group",
        "account__kind",
        ("assignee", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = [
        "reference",
        "account__customer_number",
        "account__legal_name",
        "reporter_email",
        "reporter_name",
        "description",
        "notes",
    ]
    list_select_related = ["account", "assignee"]
    date_hierarchy = "created_at"
    fields = [
        "reference",
        "account",
        "group",
        "created_at",
        "reporter_name",
        "reporter_email",
        "reporter_user",
        "reporter_notice",
        "description",
        "status",
        "assignee",
        "notes",
    ]
    readonly_fields = [
        "reference",
        "account",
        "group",
        "created_at",
        "reporter_name",
        "reporter_email",
        "reporter_user",
        "reporter_notice",
        "description",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # reports come from the portal

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Investigation, form: Any, change: bool) -> None:
        services.save_investigation(
            actor=request.user,  # type: ignore[arg-type]
            investigation=obj,
            changed=list(form.changed_data),
            ip=audit.ip_of(request),
        )
