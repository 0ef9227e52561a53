"""The accounts models, one module per concern; import them from here."""

from accounts.models.core import BusinessAccount, Contact, Contract, User
from accounts.models.delegation import PreRegistration, ValidationRequest
from accounts.models.levels import DEFAULT_RIGHT_CHOICES, HIGHEST_DEFAULT_RIGHT, Right
from accounts.models.links import AccountLink, Grant, LinkNotice
from accounts.models.records import AuditEvent, Investigation

__all__ = [
    "DEFAULT_RIGHT_CHOICES",
    "HIGHEST_DEFAULT_RIGHT",
    "AccountLink",
    "AuditEvent",
    "BusinessAccount",
    "Contact",
    "Contract",
    "Grant",
    "Investigation",
    "LinkNotice",
    "PreRegistration",
    "Right",
    "User",
    "ValidationRequest",
]
