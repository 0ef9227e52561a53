"""Every form of the portal renders through one renderer: Bootstrap classes and ARIA wiring."""

from typing import Any

from django import forms
from django.forms.boundfield import BoundField
from django.forms.renderers import TemplatesSetting


class PortalBoundField(BoundField):
    def build_widget_attrs(self, attrs: dict[str, Any], widget: Any = None) -> dict[str, Any]:
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        css = f"{attrs.get('class', '')} {_css_class(widget)}".strip()
        attrs["class"] = f"{css} is-invalid" if self.errors else css
        if self.errors:
            attrs["aria-invalid"] = "true"
            described = attrs.get("aria-describedby", "")
            attrs["aria-describedby"] = f"{described} {self.auto_id}_error".strip()
        return attrs


def _css_class(widget: forms.Widget) -> str:
    if isinstance(widget, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple):
        return "form-check-input"
    if isinstance(widget, forms.Select):
        return "form-select"
    return "form-control"


class RadioSelect(forms.RadioSelect):
    """Radio buttons as Bootstrap .form-check rows; forms/field.html puts them in a fieldset."""

    template_name = "forms/widgets/choices.html"


class PortalFormRenderer(TemplatesSetting):
    form_template_name = "forms/form.html"
    field_template_name = "forms/field.html"
    bound_field_class = PortalBoundField
