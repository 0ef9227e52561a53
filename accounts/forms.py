from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.identifiers import normalise_contract_number, normalise_customer_number
from accounts.postal import normalise_postal_code


class LinkAccountForm(forms.Form):
    """Checks only the shape of what was typed; whether it matches an account is the service's
    question, answered the same way for every wrong proof."""

    customer_number = forms.CharField(
        label=_("Customer number"),
        max_length=20,
        help_text=_("The 10 digits on your invoices or agreement. Spaces and dashes are fine."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    postal_code = forms.CharField(
        label=_("Postal code of the business address"),
        max_length=10,
        help_text=_("For example: K1A 0B1."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    contract_number = forms.CharField(
        label=_("Contract number"),
        max_length=20,
        required=False,
        help_text=_(
            "Required when the account has an active contract: the 10 digits of your "
            "agreement. Leave empty otherwise."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )

    def clean_customer_number(self) -> str:
        return normalise_customer_number(self.cleaned_data["customer_number"])

    def clean_postal_code(self) -> str:
        return normalise_postal_code(self.cleaned_data["postal_code"])

    def clean_contract_number(self) -> str:
        return normalise_contract_number(self.cleaned_data["contract_number"])


class SuspiciousActivityForm(forms.Form):
    description = forms.CharField(
        label=_("What happened?"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "Describe the orders or activity you did not authorise: dates, amounts and "
            "tracking numbers if you have them."
        ),
    )
