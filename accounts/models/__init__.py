"""The accounts models, one module per concern; import them from here."""

from accounts.models.core import BusinessAccount, Contact, Contract, User
from accounts.models.delegation import PreRegistration, ValidationRequest
from accounts.models.deliveries import DeliveryStatus, EmailDelivery, SmsDelivery
from accounts.models.links import AccountLink, Grant, LinkNotice
from accounts.models.records import AuditEvent, Investigation

__all__ = [
    "AccountLink",
    "AuditEvent",
    "BusinessAccount",
    "Contact",
    "Contract",
    "DeliveryStatus",
    "EmailDelivery",
    "Grant",
    "Investigation",
    "LinkNotice",
    "PreRegistration",
    "SmsDelivery",
    "User",
    "ValidationRequest",
]
