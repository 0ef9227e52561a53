"""The portal's own admin pages: the outbox's deliveries, and allauth's two-factor
authenticators (who has which, never their data).

allauth's own admin shows each authenticator's `data` (the TOTP secret, the recovery-code seed)
and lets staff add or change one for anyone, which would let them produce a user's codes. Staff
only need to see whether, and how, a user signs in with a second factor.
"""

from typing import Any

from allauth.mfa.models import Authenticator
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from portal.admin_mixins import ReadOnlyAdmin
from portal.models import Delivery
from portal.outbox import sending

admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(admin.ModelAdmin):
    list_display = ["user", "type", "created_at", "last_used_at"]
    list_filter = ["type", "created_at", "last_used_at"]
    search_fields = ["user__email"]
    fields = ["user", "type", "created_at", "last_used_at"]
    readonly_fields = ["user", "type", "created_at", "last_used_at"]
    list_select_related = ["user"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


DELIVERY_FIELDS = (
    "kind",
    "channel",
    "address",
    "user",
    "language",
    "account_id",
    "status",
    "attempts",
    "last_error",
    "next_attempt_at",
    "held_for",
    "enqueued_at",
    "claimed_at",
    "sent_at",
    "created_at",
    "dedupe_key",
    "facts",
)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """Every app's e-mails and texts in one list: what failed, how often, why, and the next try.

    Read-only, except "Send again" for a FAILED row or an UNKNOWN one (a worker stopped after
    claiming it: it may or may not have gone), which a person decides after checking.
    """

    list_display = [
        "kind",
        "address",
        "channel",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "created_at",
        "sent_at",
    ]
    list_filter = ["status", "channel", "kind", "language"]
    search_fields = ["address", "dedupe_key"]
    date_hierarchy = "created_at"
    fields = DELIVERY_FIELDS
    readonly_fields = DELIVERY_FIELDS
    actions = ["send_again"]

    @admin.action(description=_("Send again"), permissions=["resend"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        chosen = queryset.filter(status__in=[Delivery.Status.FAILED, Delivery.Status.UNKNOWN])
        count = sending.send_again(chosen)
        skipped = queryset.count() - count
        self.message_user(
            request,
            ngettext(
                "%(count)d message will be sent again.",
                "%(count)d messages will be sent again.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d message was left alone: only failed or unknown ones are sent again.",
                    "%(count)d messages were left alone: only failed or unknown ones are sent "
                    "again.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("portal.change_delivery")
