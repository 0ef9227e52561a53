"""Billing's forms: each refuses bad input with a message and changes nothing."""

from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from billing.models import PaymentMethod


class SavedCardForm(forms.Form):
    """What the card page posts once Stripe.js saved the card: the setup's id, nothing else."""

    setup_id = forms.CharField(
        max_length=80,
        widget=forms.HiddenInput,
        validators=[
            RegexValidator(r"^seti_[A-Za-z0-9_]+$", _("The card entry was not completed."))
        ],
        error_messages={"required": _("The card entry was not completed.")},
    )


class PayInvoiceForm(forms.Form):
    method = forms.ModelChoiceField(
        label=_("Pay with"),
        queryset=PaymentMethod.objects.none(),
        empty_label=None,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("Choose one of the cards shown.")},
    )
    # Made when the page is shown: the same page posted twice pays once.
    key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, cards: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["method"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = cards
        field.label_from_instance = _card_choice  # type: ignore[method-assign,assignment]


def _card_choice(card: PaymentMethod) -> str:
    return f"{card.label} — {card.expiry}"
