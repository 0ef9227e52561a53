"""The registry of every capability the portal can switch off for maintenance.

A capability that a later app offers is added here, with its label in both languages, and its
views, services and tasks ask `outages.gate` about it.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Feature(models.TextChoices):
    REGISTRATION = "registration", _("Registration")
    SIGN_IN = "sign_in", _("Sign-in")
    PASSWORD_RECOVERY = "password_recovery", _("Password and username recovery")
    PROFILE_CHANGES = "profile_changes", _("Business profile changes")
    ACCOUNT_LINKING = "account_linking", _("Account linking")
    LINK_REMOVAL = "link_removal", _("Link removal")
    DELEGATED_USERS = "delegated_users", _("Delegated users")
    PAYMENT_METHODS = "payment_methods", _("Payment methods")
    ONLINE_PAYMENT = "online_payment", _("Online payment")
    INVOICES = "invoices", _("Invoice viewing and download")
    RETURN_POLICIES = "return_policies", _("Return policies")
    RETURN_LABELS = "return_labels", _("Return labels")
    RETURNS_REPORTS = "returns_reports", _("Returns reports")
    TRACKING_INGESTION = "tracking_ingestion", _("Tracking ingestion")
    DEVELOPER_API = "developer_api", _("Developer API")


# Capabilities every signed-in person uses; the others concern people acting for an account.
EVERYONE_FEATURES = frozenset(
    {Feature.REGISTRATION, Feature.SIGN_IN, Feature.PASSWORD_RECOVERY, Feature.ACCOUNT_LINKING}
)
