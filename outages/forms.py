"""Admin forms of the maintenance windows: times in Eastern Time, capabilities as checkboxes.

The admin's date and time fields read what staff type in the current time zone, which is
settings.TIME_ZONE (America/Toronto) as the portal activates no other; Django refuses a time
that does not exist or happens twice at a DST change, so every stored UTC value is exact.
"""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from outages import services
from outages.features import Feature
from outages.models import Interruption, MaintenanceWindow
from outages.services import Span

SCHEDULE_FIELDS = ("starts_at", "ends_at")
EASTERN_HELP = _("Eastern Time (Toronto), as staff read it on the status page.")


class WindowAdminForm(forms.ModelForm):
    class Meta:
        model = MaintenanceWindow
        fields = ["title_en", "title_fr", "summary_en", "summary_fr", "starts_at", "ends_at"]
        help_texts = {"starts_at": EASTERN_HELP, "ends_at": EASTERN_HELP}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        starts_at, ends_at = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", _("The end must come after the start."))
        moved = any(name in self.changed_data for name in SCHEDULE_FIELDS)
        if self.instance.pk and self.instance.cancelled_at and moved:
            raise ValidationError(_("A cancelled window cannot be moved or extended."))
        return cleaned


class InterruptionAdminForm(forms.ModelForm):
    features = forms.TypedMultipleChoiceField(
        label=_("Portal capabilities turned off"),
        choices=Feature.choices,
        coerce=str,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Leave all unticked for a service outside the portal: it is listed, nothing closes."
        ),
    )

    class Meta:
        model = Interruption
        fields = [
            "application_en",
            "application_fr",
            "description_en",
            "description_fr",
            "starts_at",
            "ends_at",
            "features",
            "scope",
        ]
        widgets = {
            "scope": forms.RadioSelect,
            "description_en": forms.Textarea(attrs={"rows": 3}),
            "description_fr": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "starts_at": EASTERN_HELP,
            "ends_at": EASTERN_HELP,
            "scope": _("Read-only keeps viewing open (e.g. invoices) and closes every change."),
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        starts_at, ends_at = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", _("The end must come after the start."))
        return cleaned

    @property
    def placed_by_staff(self) -> bool:
        """New, or its times typed now: it stays where staff put it when the window moves."""
        return self.instance.pk is None or any(
            name in self.changed_data for name in SCHEDULE_FIELDS
        )


class InterruptionInlineFormSet(forms.BaseInlineFormSet):
    """Each interruption must fit inside its window, once the window's move is applied.

    Overlapping interruptions of one capability are allowed: the gate takes their union.
    """

    def clean(self) -> None:
        super().clean()
        window = self.instance
        if window.starts_at is None or window.ends_at is None or window.ends_at <= window.starts_at:
            return  # the window's own fields carry the error
        new = Span(window.starts_at, window.ends_at)
        old = self._saved_schedule() or new
        for form in self.forms:
            if form.cleaned_data and not form.cleaned_data.get("DELETE"):
                self._check_inside(form, old=old, new=new)

    def _check_inside(self, form: forms.BaseForm, *, old: Span, new: Span) -> None:
        data = form.cleaned_data
        if not (data.get("starts_at") and data.get("ends_at")):
            return
        span = Span(data["starts_at"], data["ends_at"])
        if not getattr(form, "placed_by_staff", True):
            span = services.follow_window(span, old=old, new=new)
        application = data.get("application_en") or "?"
        try:
            services.validate_inside(interruption=span, window=new, application=application)
        except ValidationError as error:
            form.add_error(None, error)

    def _saved_schedule(self) -> Span | None:
        if self.instance.pk is None:
            return None
        saved = MaintenanceWindow.objects.filter(pk=self.instance.pk).values_list(*SCHEDULE_FIELDS)
        row = saved.first()
        return Span(*row) if row else None
