"""The state of an administrator's "Add a user" or "Change rights" flow between its pages.

Kept in the session (database-backed, so any web process serves the next step), one draft per
account and flow; nothing is written to the business tables before the confirmation.
"""

from dataclasses import asdict, dataclass
from typing import Any

from django.http import HttpRequest

ADD = "add"


def flow_for(link_id: int | None) -> str:
    return ADD if link_id is None else f"link-{link_id}"


@dataclass
class Draft:
    pre_registration: int | None = None
    email: str = ""
    language: str = ""  # the person's, as support recorded it or the administrator corrected it
    way: str = ""
    preset: dict[str, Any] | None = None  # the boxes a profile pre-checks (RightSet JSON)
    rights: dict[str, Any] | None = None  # the rights chosen, ready for review (RightSet JSON)

    @property
    def has_person(self) -> bool:
        return bool(self.pre_registration and self.email)


def _key(account_id: int, flow: str) -> str:
    return f"accounts.draft.{account_id}.{flow}"


def load(request: HttpRequest, account_id: int, flow: str) -> Draft:
    stored = request.session.get(_key(account_id, flow)) or {}
    known = {name: stored[name] for name in Draft.__dataclass_fields__ if name in stored}
    return Draft(**known)


def save(request: HttpRequest, account_id: int, flow: str, draft: Draft) -> None:
    request.session[_key(account_id, flow)] = asdict(draft)


def clear(request: HttpRequest, account_id: int, flow: str) -> None:
    request.session.pop(_key(account_id, flow), None)
