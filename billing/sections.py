"""Billing's section of the account page (portal.sections), from BillingConfig.ready()."""

from django.utils.translation import gettext_lazy as _

from accounts.models import Right
from outages.features import Feature
from portal.sections import Section, register_section

BILLING = "billing.overview"


def register() -> None:
    register_section(
        Section(
            key=BILLING,
            title=_("Billing"),
            url_name="billing:overview",
            right=Right.CONSULT,
            whole_account=True,
            feature=Feature.INVOICES,
            order=50,
        )
    )
