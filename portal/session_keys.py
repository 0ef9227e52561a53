"""A new session key whenever what a session may do changes in its own request.

Django gives a new key at sign-in (`login()` cycles it) and allauth at a password change
(`update_session_auth_hash`). allauth gives none when a second factor is turned on or off, and a
user who links a business account gains its rights: both call `rotate` too, so a key read or
planted before the change (a shared computer, a leaked log) does not carry over to what comes
after. Changes made by someone else (an administrator changing a user's rights, staff status set
in the admin) cannot touch that user's session: rights are read from the database on every
request instead (accounts.rights), so they take effect on the user's next request.
"""

from typing import Any

from allauth.mfa import signals
from django.http import HttpRequest


def rotate(request: HttpRequest | None) -> None:
    """Give the request's session a new key, keeping its data; the old key stops working."""
    session = getattr(request, "session", None)
    if session is not None:
        session.cycle_key()


def _on_second_factor_change(
    sender: Any, request: HttpRequest | None = None, **kwargs: Any
) -> None:
    rotate(request)


def connect() -> None:
    """Called from PortalConfig.ready()."""
    for signal in (signals.authenticator_added, signals.authenticator_removed):
        signal.connect(_on_second_factor_change, dispatch_uid="portal.session_keys.rotate")
