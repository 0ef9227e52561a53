"""The form of the direct return link, filled in by a business's customer (no sign-in)."""

import unicodedata
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from localflavor.ca.ca_provinces import PROVINCE_CHOICES

from portal.forms import RadioSelect
from portal.postal import normalise_postal_code
from returns.models import Channel, ReturnLabel, ReturnPolicy
from returns.services.labels import LabelRequest

# Characters that reorder or hide text (bidirectional embeddings, overrides and isolates): on a
# shipping label they would make an address read differently from what is stored. The plain
# right-to-left and left-to-right marks stay allowed, names in Arabic or Hebrew need them.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def no_control_characters(value: str) -> None:
    if any(unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS for char in value):
        raise ValidationError(
            _("Remove the invisible control characters from this field."), code="control"
        )


def _max(name: str) -> int:
    """The column's length, so a longer value is a form error rather than a database one."""
    field = ReturnLabel._meta.get_field(name)
    assert isinstance(field, models.CharField) and field.max_length
    return field.max_length


class LabelRequestForm(forms.Form):
    """Checks what was typed; whether the policy issues labels is the service's question."""

    customer_name = forms.CharField(
        label=_("Your name"),
        max_length=_max("customer_name"),
        validators=[no_control_characters],
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    customer_email = forms.EmailField(
        label=_("Your e-mail address"),
        max_length=254,
        help_text=_("We send your label to this address."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    order_reference = forms.CharField(
        label=_("Order reference"),
        max_length=_max("order_reference"),
        validators=[no_control_characters],
        help_text=_("As shown on your receipt or order confirmation."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    purchase_date = forms.DateField(
        label=_("Purchase date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("For example: 2026-09-30."),
    )
    from_street = forms.CharField(
        label=_("Street address"),
        max_length=_max("from_street"),
        validators=[no_control_characters],
        help_text=_("The address you ship the parcel from."),
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    from_city = forms.CharField(
        label=_("City"),
        max_length=_max("from_city"),
        validators=[no_control_characters],
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )
    from_province = forms.ChoiceField(
        label=_("Province or territory"),
        choices=[("", "—"), *PROVINCE_CHOICES],
        widget=forms.Select(attrs={"autocomplete": "address-level1"}),
    )
    from_postal_code = forms.CharField(
        label=_("Postal code"),
        max_length=10,
        help_text=_("For example: K1A 0B1."),
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
    )
    channel = forms.ChoiceField(
        label=_("How do you want your label?"),
        choices=[
            (Channel.ONLINE, _("Print it myself: a PDF label to download")),
            (Channel.POST_OFFICE, _("At a post office: show a code at the counter")),
        ],
        widget=RadioSelect,
    )

    def __init__(self, *args: Any, policy: ReturnPolicy, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.policy = policy
        if policy.return_window_days:
            self.fields["purchase_date"].required = True
            self.fields["purchase_date"].help_text = _(
                "Returns are accepted for a limited time after purchase. For example: 2026-09-30."
            )
        if policy.channel != Channel.BOTH:
            del self.fields["channel"]

    def clean_purchase_date(self) -> Any:
        day = self.cleaned_data["purchase_date"]
        if day is not None and day > timezone.localdate():
            raise ValidationError(_("The purchase date cannot be in the future."), code="future")
        return day

    def clean_from_postal_code(self) -> str:
        return normalise_postal_code(self.cleaned_data["from_postal_code"])

    def label_request(self) -> LabelRequest:
        data = self.cleaned_data
        return LabelRequest(
            customer_name=data["customer_name"],
            customer_email=data["customer_email"],
            order_reference=data["order_reference"],
            from_street=data["from_street"],
            from_city=data["from_city"],
            from_province=data["from_province"],
            from_postal_code=data["from_postal_code"],
            purchase_date=data.get("purchase_date"),
            channel=data.get("channel"),
        )
