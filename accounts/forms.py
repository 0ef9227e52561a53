from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.identifiers import normalise_contract_number, normalise_customer_number
from accounts.models import AccountLink, Contract, PreRegistration
from accounts.phones import for_display
from accounts.rights import DEFAULT_RIGHT_CHOICES, AccountRights, Right
from accounts.rightsets import Profile, RightSet
from portal.forms import RadioSelect
from portal.postal import normalise_postal_code


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


# --- delegated users ---------------------------------------------------------------------------


class PickPersonForm(forms.Form):
    """Step 1: one of the people support staff pre-registered for the account, nobody else."""

    person = forms.ModelChoiceField(
        label=_("Person to add"),
        queryset=PreRegistration.objects.none(),
        widget=RadioSelect,
        empty_label=None,
        error_messages={"invalid_choice": _("Choose one of the pre-registered people.")},
    )

    def __init__(self, *args: Any, people: QuerySet[PreRegistration], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["person"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = people
        field.label_from_instance = _person_label  # type: ignore[method-assign,assignment]


def _person_label(person: PreRegistration) -> str:
    born = date_format(person.date_of_birth, "DATE_FORMAT")
    return _("%(name)s — born %(born)s — mobile %(phone)s") % {
        "name": person.full_name,
        "born": born,
        "phone": for_display(person.mobile_phone),
    }


class PersonDetailsForm(forms.Form):
    """Step 2: the e-mail (the identifier goes there) and the language of the messages.

    The mobile number is not asked: the password is texted to the one support recorded. The
    e-mail is typed only when support recorded none; a recorded one is shown, not editable.
    """

    email = forms.EmailField(
        label=_("E-mail address"),
        help_text=_(
            "The new user's identifier. It is sent to this address, which they confirm when "
            "they first sign in."
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    language = forms.ChoiceField(
        label=_("Language of the e-mails and text message"),
        choices=settings.LANGUAGES,
        help_text=_("The language your account advisor recorded; correct it if needed."),
    )

    def __init__(self, *args: Any, person: PreRegistration, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if person.email:
            # disabled: Django ignores a posted value and keeps the recorded one.
            email = self.fields["email"]
            email.disabled, self.initial["email"] = True, person.email
            email.help_text = _(
                "Recorded by your account advisor: only they can change it. The new user's "
                "identifier is sent to it, and they confirm it when they first sign in."
            )


WAY_COPY, WAY_CUSTOM = "copy", "custom"


class RightsWayForm(forms.Form):
    """Step 3: copy another user's rights, choose them, or start from a profile."""

    way = forms.ChoiceField(
        label=_("How to give rights"),
        widget=RadioSelect,
        choices=[
            (WAY_COPY, _("Copy the rights of another user (a summary is shown to review)")),
            (
                WAY_CUSTOM,
                _("Choose custom rights: accounts and contracts, then consult, manage or validate"),
            ),
            (
                Profile.EXECUTIVE,
                _("Executive profile: every right to consult, manage and validate, in one click"),
            ),
            (Profile.ACCOUNTANT, _("Accountant profile: consult only")),
            (
                Profile.PREPARER,
                _("Preparer profile: consult and manage pre-checked; untick what you do not give"),
            ),
            (
                Profile.VALIDATOR,
                _(
                    "Validator profile: consult, manage and validate pre-checked; untick what "
                    "you do not give"
                ),
            ),
        ],
    )
    copy_from = forms.ModelChoiceField(
        label=_("User whose rights to copy"),
        queryset=AccountLink.objects.none(),
        required=False,
        help_text=_("Only when copying the rights of another user."),
    )

    def __init__(self, *args: Any, links: QuerySet[AccountLink], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["copy_from"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = links
        field.label_from_instance = _link_label  # type: ignore[method-assign,assignment]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("way") == WAY_COPY and not cleaned.get("copy_from"):
            self.add_error("copy_from", _("Choose the user whose rights to copy."))
        return cleaned


def _link_label(link: AccountLink) -> str:
    name = link.user.get_full_name()
    return f"{name} <{link.user.email}>" if name else link.user.email


LEVELS = (Right.CONSULT, Right.MANAGE, Right.VALIDATE)


@dataclass(frozen=True)
class GridBox:
    name: str
    level: Right
    checked: bool
    allowed: bool  # the administrator holds this level on the target


@dataclass(frozen=True)
class GridRow:
    label: str | Promise
    contract: Contract | None
    boxes: list[GridBox]


class CustomRightsForm(forms.Form):
    """The accounts-and-contracts by consult / manage / validate grid.

    A box is offered only where the administrator holds that level; the highest level ticked on
    a line is given, and it includes the ones below it.
    """

    def __init__(
        self,
        *args: Any,
        contracts: list[Contract],
        held: AccountRights,
        preset: RightSet,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.contracts, self.held, self.preset = contracts, held, preset
        for name, target in self._targets():
            allowed = [level for level in LEVELS if held.can(level, target)]
            self.fields[name] = forms.TypedMultipleChoiceField(
                choices=[(int(level), level.label) for level in allowed],
                coerce=int,
                required=False,
            )

    def _targets(self) -> list[tuple[str, int | None]]:
        return [("whole", None)] + [(f"contract_{c.pk}", c.pk) for c in self.contracts]

    def grid(self) -> list[GridRow]:
        rows: list[GridRow] = []
        labels = [_("Whole account (every contract)")] + [c.number for c in self.contracts]
        for (name, target), label in zip(self._targets(), labels, strict=True):
            ticked = self._ticked(name, target)
            boxes = [
                GridBox(name, level, level in ticked, self.held.can(level, target))
                for level in LEVELS
            ]
            contract = None if target is None else self.contracts[len(rows) - 1]
            rows.append(GridRow(label, contract, boxes))
        return rows

    def _ticked(self, name: str, target: int | None) -> set[int]:
        if self.is_bound:
            # Compared as text with the levels, never parsed: anything else is simply not ticked
            # (the field itself reports it). int() of what was posted could raise ("²").
            posted = {str(value) for value in self[name].value() or []}
            return {int(level) for level in LEVELS if str(int(level)) in posted}
        level = self.preset.levels.get(target)
        return {int(each) for each in LEVELS if level is not None and each <= level}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.chosen().is_empty:
            raise forms.ValidationError(_("Choose at least one right."))
        return cleaned

    def chosen(self) -> RightSet:
        levels: dict[int | None, Right] = {}
        for name, target in self._targets():
            ticked = self.cleaned_data.get(name) or []
            if ticked:
                levels[target] = Right(max(ticked))
        return RightSet(levels)


class DefaultRightForm(forms.Form):
    level = forms.TypedChoiceField(
        label=_("Rights of users who link the account themselves"),
        choices=DEFAULT_RIGHT_CHOICES,  # never VALIDATE: see rights.HIGHEST_DEFAULT_RIGHT
        coerce=int,
        help_text=_("On the whole account. Consult only unless you choose otherwise."),
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for rejecting"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The person who prepared the request reads it."),
    )
