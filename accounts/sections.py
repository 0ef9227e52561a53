"""The account page's sections: accounts registers its own here (Users, Audit trail, To
validate), and `sections_for` answers which of every app's registered sections a user sees.

A section shows when the user holds its right (on the whole account when it asks so, and as an
administrator for administration pages), read from the per-request rights summary; one whose
page is closed for maintenance shows disabled with the reason. Neither costs a query per section.
"""

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts import rights
from accounts.models import BusinessAccount, Right
from outages import gate
from outages.features import Feature
from portal.sections import Section, register_section, registered_sections

USERS = "accounts.users"
AUDIT_TRAIL = "accounts.audit"
TO_VALIDATE = "accounts.to_validate"


@dataclass(frozen=True)
class ShownSection:
    """A section as the page shows it: its link, or why it is unavailable now."""

    section: Section
    url: str
    closure: gate.Closure | None

    @property
    def title(self) -> object:
        return self.section.title


def sections_for(request: HttpRequest, account: BusinessAccount) -> list[ShownSection]:
    """The sections of `account`'s page the signed-in user may open, in page order."""
    held = rights.for_request(request).of(account)
    shown = []
    for section in registered_sections():
        if section.administration and not held.administrator:
            continue
        level = held.whole if section.whole_account else held.highest
        if level is None or level < section.right:
            continue
        # The section's page is read, so an interruption of writing only leaves it open.
        closure = gate.closure_for(section.feature, write=False) if section.feature else None
        url = reverse(section.url_name, args=[account.pk])
        shown.append(ShownSection(section=section, url=url, closure=closure))
    return shown


def register() -> None:
    """accounts' own sections, from AccountsConfig.ready()."""
    register_section(
        Section(
            key=USERS,
            title=_("Users"),
            url_name="accounts:users",
            right=Right.CONSULT,
            feature=Feature.DELEGATED_USERS,
            order=10,
            administration=True,
        )
    )
    register_section(
        Section(
            key=AUDIT_TRAIL,
            title=_("Audit trail"),
            url_name="accounts:audit",
            right=Right.CONSULT,
            order=20,
            administration=True,
        )
    )
    # Every app's requests wait here, each gated on its own action's feature: none closes it.
    register_section(
        Section(
            key=TO_VALIDATE,
            title=_("To validate"),
            url_name="accounts:to_validate",
            right=Right.MANAGE,
            order=30,
        )
    )
