"""Returns' forms: each refuses bad input with a message and saves nothing (the services save)."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from localflavor.ca.ca_provinces import PROVINCE_CHOICES

from accounts.models import Contract
from billing.models import PaymentMethod
from portal.forms import RadioSelect
from portal.postal import normalise_postal_code
from returns.models import Channel, ReturnPolicy, ShippingService
from returns.models.policies import TRANSIT_DAYS
from returns.services.policies import PolicyData

CONTRACT, CARD = "contract", "card"


def service_choices() -> list[tuple[str, str]]:
    """Each service with its usual transit time, in the reader's language."""
    return [
        (
            service.value,
            ngettext(
                "%(service)s — usually %(days)d business day",
                "%(service)s — usually %(days)d business days",
                TRANSIT_DAYS[service],
            )
            % {"service": service.label, "days": TRANSIT_DAYS[service]},
        )
        for service in ShippingService
    ]


def pay_by_value(*, contract_id: int | None, payment_method_id: int | None) -> str:
    """The radio value naming an agreement or a card: "contract:12", "card:34"."""
    if contract_id is not None:
        return f"{CONTRACT}:{contract_id}"
    if payment_method_id is not None:
        return f"{CARD}:{payment_method_id}"
    return ""


class PolicyForm(forms.Form):
    """A return policy's settings. `contracts` and `cards` are what may pay (the account's
    active agreements the user manages, its usable cards): one of them is chosen."""

    name = forms.CharField(
        label=_("Policy name"),
        max_length=100,
        help_text=_("For you only: your customers do not see it."),
    )
    channel = forms.ChoiceField(
        label=_("Where customers get a return label"), choices=Channel.choices, widget=RadioSelect
    )
    service = forms.ChoiceField(
        label=_("Shipping service for returns"), choices=(), widget=RadioSelect
    )
    return_name = forms.CharField(
        label=_("Return to (name or department)"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    return_street = forms.CharField(
        label=_("Street address"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "address-line1"}),
    )
    return_city = forms.CharField(
        label=_("City"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )
    return_province = forms.ChoiceField(
        label=_("Province or territory"),
        choices=[("", "—"), *PROVINCE_CHOICES],
        widget=forms.Select(attrs={"autocomplete": "address-level1"}),
    )
    return_postal_code = forms.CharField(
        label=_("Postal code"),
        max_length=10,
        help_text=_("For example: K1A 0B1."),
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
    )
    pay_by = forms.ChoiceField(
        label=_("Returns are paid by"),
        choices=(),
        widget=RadioSelect,
        error_messages={
            "required": _("Choose the agreement or the card that pays for returns."),
            "invalid_choice": _("Choose one of the agreements or cards shown."),
        },
    )
    instructions = forms.CharField(
        label=_("Instructions for your customers"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Optional, up to 1,000 characters: shown on the return page and the label."),
    )
    return_window_days = forms.IntegerField(
        label=_("Return window (days after purchase)"),
        min_value=1,
        max_value=365,
        required=False,
        help_text=_("Optional, from 1 to 365. Leave empty to accept returns at any time."),
    )

    def __init__(
        self, *args: Any, contracts: list[Contract], cards: list[PaymentMethod], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = service_choices()  # type: ignore[attr-defined]
        self.fields["pay_by"].choices = [  # type: ignore[attr-defined]
            *(
                (
                    pay_by_value(contract_id=contract.pk, payment_method_id=None),
                    _("Agreement %(number)s") % {"number": contract.number},
                )
                for contract in contracts
            ),
            *(
                (
                    pay_by_value(contract_id=None, payment_method_id=card.pk),
                    _("%(card)s, expires %(expiry)s") % {"card": card.label, "expiry": card.expiry},
                )
                for card in cards
            ),
        ]

    @classmethod
    def initial_from(cls, policy: ReturnPolicy) -> dict[str, Any]:
        return {
            "name": policy.name,
            "channel": policy.channel,
            "service": policy.service,
            "return_name": policy.return_name,
            "return_street": policy.return_street,
            "return_city": policy.return_city,
            "return_province": policy.return_province,
            "return_postal_code": policy.return_postal_code,
            "pay_by": pay_by_value(
                contract_id=policy.contract_id, payment_method_id=policy.payment_method_id
            ),
            "instructions": policy.instructions,
            "return_window_days": policy.return_window_days,
        }

    @property
    def can_pay(self) -> bool:
        """Whether anything is offered to pay for returns."""
        return bool(self.fields["pay_by"].choices)  # type: ignore[attr-defined]

    def clean_return_postal_code(self) -> str:
        return normalise_postal_code(self.cleaned_data["return_postal_code"])

    def data_for_service(self) -> PolicyData:
        """The cleaned data as the services take it (call after is_valid())."""
        data = self.cleaned_data
        way, _colon, pk = data["pay_by"].partition(":")
        return PolicyData(
            name=data["name"],
            channel=data["channel"],
            service=data["service"],
            return_name=data["return_name"],
            return_street=data["return_street"],
            return_city=data["return_city"],
            return_province=data["return_province"],
            return_postal_code=data["return_postal_code"],
            contract_id=int(pk) if way == CONTRACT else None,
            payment_method_id=int(pk) if way == CARD else None,
            instructions=data["instructions"],
            return_window_days=data["return_window_days"],
        )
