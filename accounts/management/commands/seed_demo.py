"""Idempotent demo data, printed so a newcomer can sign in and link an account."""

import datetime
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse

from accounts.models import BusinessAccount, Contact, Contract
from outages.demo import load_demo_window

DEMO_PASSWORD = "Demo-portal-2026!"  # noqa: S105 - local demo data only, refused in production
STAFF_EMAIL = "support@portal.example"
DEMO_EMAIL = "demo@portal.example"

# customer number, kind, legal name, street, city, province, postal code, contracts, contacts
ACCOUNTS: list[dict[str, Any]] = [
    {
        "customer_number": "0001234567",
        "kind": BusinessAccount.Kind.COMMERCIAL,
        "legal_name": "Maple Leaf Outfitters Inc.",
        "street_address": "2701 Riverside Drive",
        "city": "Ottawa",
        "province": "ON",
        "postal_code": "K1A 0B1",
        "contracts": [("4012345678", Contract.Kind.PARCEL_SERVICES)],
        "contacts": [
            (Contact.Role.PRIMARY, "Claire Tremblay", "claire.tremblay@mapleleaf.example", "fr"),
            (Contact.Role.BILLING, "Owen Fraser", "owen.fraser@mapleleaf.example", "en"),
        ],
    },
    {
        "customer_number": "0007654321",
        "kind": BusinessAccount.Kind.COMMERCIAL,
        "legal_name": "Boréal Distribution Ltée",
        "street_address": "800 rue du Square-Victoria",
        "city": "Montréal",
        "province": "QC",
        "postal_code": "H4Z 1A1",
        "contracts": [("4098765432", Contract.Kind.HIGH_VOLUME)],
        "contacts": [
            (Contact.Role.PRIMARY, "Julien Gagnon", "julien.gagnon@boreal.example", "fr"),
            (Contact.Role.BILLING, "Julien Gagnon", "julien.gagnon@boreal.example", "fr"),
        ],
    },
    {
        "customer_number": "0002468135",
        "kind": BusinessAccount.Kind.SMALL_BUSINESS,
        "legal_name": "Prairie Pottery Studio",
        "street_address": "150 Main Street",
        "city": "Winnipeg",
        "province": "MB",
        "postal_code": "R3C 4T3",
        "contracts": [],
        "contacts": [
            (Contact.Role.PRIMARY, "Ava Singh", "ava@prairiepottery.example", "en"),
            (Contact.Role.BILLING, "Liam Chen", "liam@prairiepottery.example", "en"),
        ],
    },
    {
        "customer_number": "0001357924",
        "kind": BusinessAccount.Kind.SMALL_BUSINESS,
        "legal_name": "Atelier Côte-Nord",
        "street_address": "12 rue Principale",
        "city": "Baie-Comeau",
        "province": "QC",
        "postal_code": "G4Z 1A1",
        "contracts": [("4011112222", Contract.Kind.RETURNS)],
        "contacts": [
            (Contact.Role.PRIMARY, "Émilie Roy", "emilie@cotenord.example", "fr"),
        ],
    },
]


class Command(BaseCommand):
    help = "Create (or refresh) the demo accounts and users and print how to try the portal."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("seed_demo refuses to run with DJANGO_ENV=production.")
        with transaction.atomic():
            for spec in ACCOUNTS:
                _seed_account(spec)
            _seed_user(STAFF_EMAIL, staff=True)
            _seed_user(DEMO_EMAIL, staff=False)
            window, _ = load_demo_window()
        self._print_summary()
        self.stdout.write(f"Demo maintenance window: {window.title_en} (see /status/)\n")

    def _print_summary(self) -> None:
        out = self.stdout.write
        out(
            self.style.SUCCESS(
                "\nDemo data ready. Sign in at http://127.0.0.1:8000/accounts/login/"
            )
        )
        out(f"  demo user     {DEMO_EMAIL:<36} password {DEMO_PASSWORD}")
        out(
            f"  support staff {STAFF_EMAIL:<36} password {DEMO_PASSWORD}"
            "  (the admin asks staff to turn on two-factor first)"
        )
        out("\nBusiness accounts to link (customer number / postal code / contract number):")
        for account in BusinessAccount.objects.prefetch_related("contracts").order_by(
            "customer_number"
        ):
            contracts = ", ".join(c.number for c in account.contracts.all()) or "none needed"
            out(
                f"  {account.customer_number}  {account.postal_code}  {contracts:<12}"
                f"  {account.legal_name} ({account.get_kind_display()})"
            )
        out(
            f"Link one as the demo user at {settings.PORTAL_BASE_URL}{reverse('accounts:link')}"
            " (My business accounts > Link a business account)."
        )
        out(
            "  Its contacts get an e-mail with a removal link (printed in the console when no"
            " e-mail provider is set)."
        )
        out("")


def _seed_account(spec: dict[str, Any]) -> None:
    fields = {
        k: v for k, v in spec.items() if k not in ("contracts", "contacts", "customer_number")
    }
    account, _ = BusinessAccount.objects.update_or_create(
        customer_number=spec["customer_number"], defaults=fields
    )
    for number, kind in spec["contracts"]:
        Contract.objects.update_or_create(
            number=number,
            defaults={
                "account": account,
                "kind": kind,
                "status": Contract.Status.ACTIVE,
                "starts_on": datetime.date(2024, 1, 1),
            },
        )
    for role, name, email, language in spec["contacts"]:
        Contact.objects.update_or_create(
            account=account, role=role, email=email, defaults={"name": name, "language": language}
        )


def _seed_user(email: str, *, staff: bool) -> None:
    user, created = get_user_model().objects.get_or_create(
        username=email, defaults={"email": email, "is_staff": staff, "is_superuser": staff}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
