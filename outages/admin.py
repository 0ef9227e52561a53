"""Support staff plan maintenance here; moves, extensions and cancellations go through services.

The change form saves the window's other fields and its interruptions first, then hands the new
times to `services.reschedule_window`, which bumps the revision and records old → new so the
people already notified get a change notice.
"""

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Count, Q, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from outages import services
from outages.forms import (
    SCHEDULE_FIELDS,
    InterruptionAdminForm,
    InterruptionInlineFormSet,
    WindowAdminForm,
)
from outages.models import Interruption, MaintenanceNotice, MaintenanceWindow, PostponedTask
from portal.admin_mixins import ReadOnlyAdmin
from portal.formatting import format_moment, format_span

State = MaintenanceWindow.State


class StateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(State.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        live = Q(cancelled_at__isnull=True)
        conditions = {
            State.UPCOMING: live & Q(starts_at__gt=now),
            State.IN_PROGRESS: live & Q(starts_at__lte=now, ends_at__gt=now),
            State.COMPLETED: live & Q(ends_at__lte=now),
            State.CANCELLED: Q(cancelled_at__isnull=False),
        }
        condition = conditions.get(self.value() or "")  # type: ignore[call-overload]
        return queryset if condition is None else queryset.filter(condition)


class InterruptionInline(admin.StackedInline):
    model = Interruption
    form = InterruptionAdminForm
    formset = InterruptionInlineFormSet
    fieldsets = [
        (None, {"fields": [("application_en", "application_fr")]}),
        (None, {"fields": [("description_en", "description_fr")]}),
        (None, {"fields": [("starts_at", "ends_at"), "scope", "features"]}),
    ]

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        """One blank interruption on a new window (it always has one); none when editing."""
        return 1 if obj is None else 0

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A deleted interruption vanishes from subscribers' calendars without a word: once its
        # window is saved, staff cancel the window instead (and plan a new one if need be).
        return obj is None


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(admin.ModelAdmin):
    form = WindowAdminForm
    inlines = [InterruptionInline]
    list_display = ["title_en", "state_label", "schedule", "interruption_count", "revision"]
    list_filter = [StateFilter]
    search_fields = [
        "title_en",
        "title_fr",
        "interruptions__application_en",
        "interruptions__application_fr",
    ]
    date_hierarchy = "starts_at"
    ordering = ["-starts_at"]
    actions = ["cancel_windows"]
    readonly_fields = ["state_label", "revision", "cancelled_at", "change_history"]
    fieldsets = [
        (None, {"fields": [("title_en", "title_fr"), ("summary_en", "summary_fr")]}),
        (_("Schedule (Eastern Time)"), {"fields": [("starts_at", "ends_at")]}),
        (_("State"), {"fields": ["state_label", "revision", "cancelled_at", "change_history"]}),
    ]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting a window would make its events vanish from subscribers' calendars, and the
        # people notified would never hear it is off: cancelling (the action) is the way. This
        # also takes "Delete selected" off the actions.
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[MaintenanceWindow]:
        return (
            super()
            .get_queryset(request)
            .annotate(interruption_total=Count("interruptions"))
            .prefetch_related("changes__changed_by")
        )

    @admin.display(description=_("state"))
    def state_label(self, window: MaintenanceWindow) -> str:
        return str(window.state.label) if window.pk else "—"

    @admin.display(description=_("schedule (ET)"), ordering="starts_at")
    def schedule(self, window: MaintenanceWindow) -> str:
        return format_span(window.starts_at, window.ends_at)

    @admin.display(description=_("interruptions"), ordering="interruption_total")
    def interruption_count(self, window: MaintenanceWindow) -> int:
        return getattr(window, "interruption_total", 0)

    @admin.display(description=_("changes"))
    def change_history(self, window: MaintenanceWindow) -> str:
        if not window.pk:
            return "—"
        rows = [
            (
                change.revision,
                change.kind.label,
                format_span(change.old_starts_at, change.old_ends_at),
                format_span(change.new_starts_at, change.new_ends_at),
                change.changed_by or "—",
                format_moment(change.changed_at),
            )
            for change in window.changes.all()
        ]
        if not rows:
            return str(_("No change since it was planned."))
        return format_html(
            "<ul>{}</ul>",
            format_html_join("", "<li>r{} {}: {} → {} ({}, {})</li>", rows),
        )

    def save_model(
        self, request: HttpRequest, obj: MaintenanceWindow, form: ModelForm, change: bool
    ) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        # The new times wait for save_related: the service moves the interruptions with them.
        others = [name for name in form.changed_data if name not in SCHEDULE_FIELDS]
        if others:
            obj.save(update_fields=[*others, "updated_at"])

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: list[Any], change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        if change and any(formset.has_changed() for formset in formsets):
            # An interruption's new text reaches calendar apps through the window's
            # LAST-MODIFIED, which follows updated_at.
            form.instance.save(update_fields=["updated_at"])
        if change and any(name in form.changed_data for name in SCHEDULE_FIELDS):
            services.reschedule_window(
                window=form.instance,
                starts_at=form.cleaned_data["starts_at"],
                ends_at=form.cleaned_data["ends_at"],
                actor=request.user,  # type: ignore[arg-type]
                keep=_placed_by_staff(formsets),
            )

    @admin.action(description=_("Cancel the selected windows"), permissions=["change"])
    def cancel_windows(
        self, request: HttpRequest, queryset: QuerySet[MaintenanceWindow]
    ) -> HttpResponse | None:
        to_cancel = list(queryset.filter(cancelled_at__isnull=True))
        if "confirm" not in request.POST:
            # Cancelling e-mails everyone already told: staff see exactly what first.
            context = {
                **self.admin_site.each_context(request),
                "title": _("Cancel maintenance windows?"),
                "windows": to_cancel,
                "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
                "opts": self.model._meta,
            }
            return TemplateResponse(request, "admin/outages/confirm_cancel.html", context)
        for window in to_cancel:
            services.cancel_window(window=window, actor=request.user)  # type: ignore[arg-type]
        message = ngettext(
            "%(count)d window cancelled; people already notified will be told.",
            "%(count)d windows cancelled; people already notified will be told.",
            len(to_cancel),
        ) % {"count": len(to_cancel)}
        self.message_user(request, message, messages.SUCCESS)
        return None


def _placed_by_staff(formsets: list[BaseInlineFormSet]) -> set[int]:
    return {
        form.instance.pk
        for formset in formsets
        if formset.model is Interruption
        for form in formset.forms
        if form.instance.pk and getattr(form, "placed_by_staff", False)
    }


@admin.register(MaintenanceNotice)
class MaintenanceNoticeAdmin(ReadOnlyAdmin):
    """Who was told which revision; each e-mail's attempts, errors and resend are in the
    outbox's list of deliveries."""

    list_display = [
        "window",
        "user",
        "kind",
        "revision",
        "delivery__status",
        "delivery__sent_at",
        "delivery__last_error",
    ]
    list_filter = ["delivery__status", "kind"]
    search_fields = ["user__email", "window__title_en", "window__title_fr"]
    list_select_related = ["window", "user", "delivery"]


@admin.register(PostponedTask)
class PostponedTaskAdmin(ReadOnlyAdmin):
    list_display = ["task_name", "feature", "run_after", "created_at"]
    list_filter = ["feature"]
    search_fields = ["task_name"]
