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
    pass


class RemovalLinkUsed(RemovalLinkError):
    """Already used, or the user was already removed another way."""


class LinkAlreadyRemoved(Exception):
    """A removal asked for a link that is no longer active; nothing was changed."""
