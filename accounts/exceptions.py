"""What the account-linking use cases refuse, each with the message a person reads."""

import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _

from portal.exceptions import PortalError


class LinkingError(PortalError):
    message = _("The account could not be linked.")


class LinkRefused(LinkingError):
    """Any wrong proof, malformed input or unknown account: one message, nothing revealed."""

    message = _("These details do not match our records.")


class AlreadyLinked(LinkingError):
    message = _("Your profile is already linked to this business account.")

    def __init__(self, account: Any = None) -> None:
        super().__init__()
        self.account = account  # the BusinessAccount: the proofs matched, so it may be named


class LinkLockedOut(LinkingError):
    """Too many failed attempts by this user or from this address."""

    message = _("Too many unsuccessful attempts. Linking is paused for your security.")

    def __init__(self, until: datetime.datetime) -> None:
        super().__init__()
        self.until = until


class LinkNeedsSecondFactor(LinkingError):
    """The typed customer number is under attack (too many failures by others): linking it
    needs a fresh second factor until `until`. Said before any proof is checked."""

    message = _(
        "This customer number has had many unsuccessful attempts. To link it now, confirm "
        "your identity with two-factor authentication."
    )

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


class DelegationError(PortalError):
    """A delegated-users change that is refused; nothing was changed."""

    message = _("This change could not be made.")


class NotAllowed(DelegationError):
    message = _("Your rights on this account do not allow this.")


class RightsBeyondYours(DelegationError):
    message = _("You can only give rights that you hold yourself on this account or contract.")


class NoRightChosen(DelegationError):
    message = _("Choose at least one right.")


class ForeignContract(DelegationError):
    message = _("A contract chosen does not belong to this account.")


class InvalidPersonDetails(DelegationError):
    message = _(
        "This person needs a valid e-mail address and a mobile number that can receive text "
        "messages, as recorded by your account advisor. Ask them to correct the details."
    )


class PreRegistrationUnavailable(DelegationError):
    message = _("This person can no longer be added: they were added already or removed.")


class UserAlreadyLinked(DelegationError):
    message = _("This person already acts for this account: change their rights instead.")


class UserNotLinked(DelegationError):
    message = _("This user no longer acts for this account.")


class OwnAccess(DelegationError):
    message = _("You cannot change your own rights or remove yourself from this page.")


class LastAdministrator(DelegationError):
    """The change would leave the account without an administrator holding VALIDATE on all of it."""

    message = _(
        "An account always keeps at least one administrator who can validate on the whole "
        "account. Give another administrator that right, or ask support staff to name another "
        "administrator, first."
    )


class DefaultRightTooHigh(DelegationError):
    message = _(
        "Users who link the account themselves can receive at most the right to consult and manage."
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
