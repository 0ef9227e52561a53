"""Fixtures of the account-linking tests: a linkable account, gate closures and small limits."""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.models import BusinessAccount, Contact, Contract
from outages.models import Interruption, MaintenanceWindow
from tests.accounts.factories import BusinessAccountFactory, ContactFactory, ContractFactory

CUSTOMER_NUMBER = "0001234567"
POSTAL_CODE = "K1A 0B1"
CONTRACT_NUMBER = "4012345678"


@dataclass
class Linkable:
    """An account with an active contract, and the proofs that link it."""

    account: BusinessAccount
    contract: Contract
    primary: Contact
    billing: Contact

    @property
    def proofs(self) -> dict[str, str]:
        return {
            "customer_number": CUSTOMER_NUMBER,
            "postal_code": POSTAL_CODE,
            "contract_number": CONTRACT_NUMBER,
        }


@pytest.fixture
def linkable(db: None) -> Linkable:
    account = BusinessAccountFactory.create(
        customer_number=CUSTOMER_NUMBER,
        postal_code=POSTAL_CODE,
        legal_name="Maple Leaf Outfitters Inc.",
        kind=BusinessAccount.Kind.COMMERCIAL,
    )
    return Linkable(
        account=account,
        contract=ContractFactory.create(account=account, number=CONTRACT_NUMBER),
        primary=ContactFactory.create(
            account=account,
            role=Contact.Role.PRIMARY,
            name="Claire Tremblay",
            email="claire@mapleleaf.example",
            language="fr",
        ),
        billing=ContactFactory.create(
            account=account,
            role=Contact.Role.BILLING,
            name="Owen Fraser",
            email="owen@mapleleaf.example",
            language="en",
        ),
    )


@pytest.fixture
def close_feature(db: None) -> Callable[..., Interruption]:
    """`close_feature("account_linking")`: a maintenance window covering now turns it off."""

    def close(*features: str, scope: str = Interruption.Scope.ALL) -> Interruption:
        now = timezone.now()
        window = MaintenanceWindow.objects.create(
            title_en="Account maintenance",
            title_fr="Entretien des comptes",
            starts_at=now - datetime.timedelta(hours=1),
            ends_at=now + datetime.timedelta(hours=3),
        )
        interruption = Interruption.objects.create(
            window=window,
            application_en="Business accounts",
            application_fr="Comptes d'entreprise",
            description_en="Linking and unlinking",
            description_fr="Liaison et suppression de liens",
            starts_at=window.starts_at,
            ends_at=window.ends_at,
            features=list(features),
            scope=scope,
        )
        # The gate drops its cached snapshot on commit, which a test transaction never reaches.
        cache.clear()
        return interruption

    return close


@pytest.fixture
def small_limits(settings: Any) -> dict[str, int]:
    limits = {"user": 3, "ip": 5, "customer_number": 4}
    settings.PORTAL_LINK_FAILURE_LIMITS = limits
    settings.PORTAL_LINK_FAILURE_WINDOW = 600
    settings.PORTAL_LINK_LOCKOUT_SECONDS = 900
    return limits
