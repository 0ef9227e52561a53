"""The account-administration actions of the validation queue: add a user, change a user's
rights, remove a user. Registered from AccountsConfig.ready().

Each payload says exactly what will be done and carries the names shown to the validator; the
fingerprint is the state of what it changes, so a request whose target moved is refused.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _

from accounts import selectors, validation
from accounts.models import AccountLink, BusinessAccount, PreRegistration, User
from accounts.phones import for_display
from accounts.rightsets import RightSet
from accounts.services import users
from accounts.validation import Action, Payload, fingerprint_of
from outages.features import Feature

ADD_USER = "accounts.add_user"
CHANGE_RIGHTS = "accounts.change_rights"
REMOVE_USER = "accounts.remove_user"


# --- payloads the pages build ------------------------------------------------------------------


def add_user_payload(
    *, person: PreRegistration, email: str, language: str, chosen: RightSet
) -> dict[str, Any]:
    """The phone is shown to the validator only: the service texts the pre-registration's."""
    return {
        "pre_registration": person.pk,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "date_of_birth": person.date_of_birth.isoformat(),
        "email": email,
        "phone": for_display(person.mobile_phone),
        "language": language,
        "rights": chosen.to_payload(),
    }


def change_rights_payload(*, link: AccountLink, chosen: RightSet) -> dict[str, Any]:
    return {
        **_who(link),
        "previous": RightSet.of_link(link).to_payload(),
        "rights": chosen.to_payload(),
    }


def remove_user_payload(*, link: AccountLink) -> dict[str, Any]:
    return _who(link)


def _who(link: AccountLink) -> dict[str, Any]:
    return {"link": link.pk, "name": link.user.get_full_name(), "email": link.user.email}


# --- fingerprints: the state of the target -----------------------------------------------------


def _pre_registration_state(account: BusinessAccount, payload: Payload) -> str:
    person = PreRegistration.objects.filter(pk=payload["pre_registration"], account=account).first()
    if person is None:
        return fingerprint_of("gone")
    return fingerprint_of(
        person.used_at,
        person.first_name,
        person.last_name,
        person.date_of_birth,
        str(person.mobile_phone),
        person.email,
    )


def _link_state(account: BusinessAccount, payload: Payload) -> str:
    link = selectors.account_user(account=account, link_id=payload["link"])
    if link is None:
        return fingerprint_of("gone")
    return fingerprint_of(link.is_administrator, RightSet.of_link(link).to_payload())


# --- what approving (or acting directly) runs ---------------------------------------------------


def _add(*, actor: User, account: BusinessAccount, payload: Payload, ip: str | None) -> dict:
    link = users.add_user(
        actor=actor,
        account=account,
        pre_registration_id=payload["pre_registration"],
        email=payload["email"],
        language=payload.get("language", ""),
        chosen=RightSet.from_payload(payload["rights"]),
        ip=ip,
    )
    return {"link": link.pk}


def _check_add(*, actor: User, account: BusinessAccount, payload: Payload) -> None:
    users.check_new_user(
        actor=actor,
        account=account,
        pre_registration_id=payload["pre_registration"],
        email=payload["email"],
        language=payload.get("language", ""),
        chosen=RightSet.from_payload(payload["rights"]),
    )


def _change(*, actor: User, account: BusinessAccount, payload: Payload, ip: str | None) -> dict:
    link = users.change_rights(
        actor=actor,
        account=account,
        link_id=payload["link"],
        chosen=RightSet.from_payload(payload["rights"]),
        ip=ip,
    )
    return {"link": link.pk}


def _check_change(*, actor: User, account: BusinessAccount, payload: Payload) -> None:
    _check_target(actor=actor, account=account, payload=payload)
    users.check_rights(
        actor=actor, account=account, chosen=RightSet.from_payload(payload["rights"])
    )


def _remove(*, actor: User, account: BusinessAccount, payload: Payload, ip: str | None) -> dict:
    link = users.remove_user(actor=actor, account=account, link_id=payload["link"], ip=ip)
    return {"link": link.pk}


def _check_target(*, actor: User, account: BusinessAccount, payload: Payload) -> None:
    link = selectors.account_user(account=account, link_id=payload["link"])
    if link is None:
        raise users.UserNotLinked()
    if link.user_id == actor.pk:
        raise users.OwnAccess()


def _rights_details(account: BusinessAccount, payload: Payload) -> dict[str, Any]:
    contracts = selectors.account_contracts(account=account)
    details = {"rows": RightSet.from_payload(payload["rights"]).rows(contracts)}
    if "previous" in payload:
        details["previous_rows"] = RightSet.from_payload(payload["previous"]).rows(contracts)
    return details


def register() -> None:
    validation.register(
        Action(
            kind=ADD_USER,
            label=_("Add a user"),
            feature=Feature.DELEGATED_USERS,
            perform=_add,
            fingerprint=_pre_registration_state,
            check=_check_add,
            administration=True,
            summary_template="accounts/validation/add_user.html",
            details=_rights_details,
        )
    )
    validation.register(
        Action(
            kind=CHANGE_RIGHTS,
            label=_("Change a user's rights"),
            feature=Feature.DELEGATED_USERS,
            perform=_change,
            fingerprint=_link_state,
            check=_check_change,
            administration=True,
            summary_template="accounts/validation/change_rights.html",
            details=_rights_details,
        )
    )
    validation.register(
        Action(
            kind=REMOVE_USER,
            label=_("Remove a user"),
            feature=Feature.DELEGATED_USERS,
            perform=_remove,
            fingerprint=_link_state,
            check=_check_target,
            administration=True,
            summary_template="accounts/validation/remove_user.html",
        )
    )
