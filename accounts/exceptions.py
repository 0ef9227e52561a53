"""What the account-linking use cases refuse, each with the message a person reads."""

import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _


class LinkingError(Exception):
    message = _("The account could not be linked.")

    def __str__(self) -> str:
        return str(self.message)


class LinkRefused(LinkingError):
    """Any wrong proof, malformed input or unknown account: one message, nothing revealed."""

    message = _("These details do not match our records.")


class AlreadyLinked(LinkingError):
    message = _("Your profile is already linked to this business account.")

    def __init__(self, account: Any = None) -> None:
        super().__init__()
        self.account = account  # the BusinessAccount: the proofs matched, so it may be named


class LinkLockedOut(LinkingError):
    """Too many failed attempts by this user, from this address or on this customer number."""

    message = _("Too many unsuccessful attempts. Linking is paused for your security.")

    def __init__(self, until: datetime.datetime) -> None:
        super().__init__()
        self.until = until


class RemovalLinkError(Exception):
    """A removal link from a contact's e-mail that cannot be used; each case has its page."""

    def __init__(self, notice: Any = None) -> None:
        super().__init__(type(self).__name__)
        self.notice = notice  # the LinkNotice when known: its page speaks the contact's language


class RemovalLinkInvalid(RemovalLinkError):
    """Tampered, truncated or unknown: nothing about it is revealed."""


class RemovalLinkExpired(RemovalLinkError):
    """More than 30 days since the e-mail was sent: the page gives the help-desk number."""


class RemovalLinkUsed(RemovalLinkError):
    """Already used, or the user was already removed another way."""


class LinkAlreadyRemoved(Exception):
    """A removal asked for a link that is no longer active; nothing was changed."""


class DelegationError(Exception):
    """A delegated-users change that is refused; nothing was changed."""

    message = _("This change could not be made.")

    def __str__(self) -> str:
        return str(self.message)


class NotAllowed(DelegationError):
    message = _("Your rights on this account do not allow this.")


class RightsBeyondYours(DelegationError):
    message = _("You can only give rights that you hold yourself on this account or contract.")


class NoRightChosen(DelegationError):
    message = _("Choose at least one right.")


class ForeignContract(DelegationError):
    message = _("A contract chosen does not belong to this account.")


class InvalidPersonDetails(DelegationError):
    message = _("A valid e-mail address and a valid mobile number are required.")


class PreRegistrationUnavailable(DelegationError):
    message = _("This person can no longer be added: they were added already or removed.")


class UserAlreadyLinked(DelegationError):
    message = _("This person already acts for this account: change their rights instead.")


class UserNotLinked(DelegationError):
    message = _("This user no longer acts for this account.")


class OwnAccess(DelegationError):
    message = _("You cannot change your own rights or remove yourself from this page.")


class LastAdministrator(DelegationError):
    message = _(
        "An account always keeps at least one administrator. Ask support staff to name "
        "another administrator first."
    )


class RequestNotPending(DelegationError):
    message = _("This request was already decided.")


class OwnRequest(DelegationError):
    message = _("You prepared this request: another validator must decide it.")


class StaleRequest(DelegationError):
    message = _(
        "What this request would change has changed since it was prepared, so it was refused. "
        "Prepare it again if it is still needed."
    )
