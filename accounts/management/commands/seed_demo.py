"""Idempotent demo data, printed so a newcomer can sign in and link an account."""

import datetime
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse

from accounts.models import AccountLink, BusinessAccount, Contact, Contract, Grant, PreRegistration
from accounts.rights import Right
from outages.demo import load_demo_window
from portal.demo import demo_seeders

DEMO_PASSWORD = "Demo-portal-2026!"  # noqa: S105 - local demo data only, refused in production
STAFF_EMAIL = "support@portal.example"
DEMO_EMAIL = "demo@portal.example"
PREPARER_EMAIL = "preparer@portal.example"
ADMINISTERED = "0001234567"  # the demo user administers Maple Leaf Outfitters with every right
# ... and validates on Prairie Pottery Studio, to try billing as a small business
SMALL_BUSINESS = "0002468135"

# People support staff pre-registered: (customer number, last, first, born, mobile, e-mail).
PRE_REGISTRATIONS = [
    (
        "0001234567",
        "Martin",
        "Sophie",
        "1988-03-14",
        "+16135550142",
        "sophie.martin@mapleleaf.example",
    ),
    ("0001234567", "Dubois", "Marc", "1979-11-02", "+16135550177", ""),
    ("0007654321", "Benali", "Nadia", "1991-06-23", "+15145550119", "nadia@boreal.example"),
    ("0002468135", "Becker", "Tom", "1985-01-30", "+12045550163", ""),
]

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
            _seed_user(STAFF_EMAIL, ("Sam", "Support"), staff=True)
            demo = _seed_user(DEMO_EMAIL, ("Dana", "Morel"), staff=False)
            preparer = _seed_user(PREPARER_EMAIL, ("Pat", "Lavoie"), staff=False)
            administered = BusinessAccount.objects.get(customer_number=ADMINISTERED)
            _seed_link(demo, administered, Right.VALIDATE)
            _seed_link(
                demo, BusinessAccount.objects.get(customer_number=SMALL_BUSINESS), Right.VALIDATE
            )
            _seed_link(preparer, administered, Right.MANAGE)
            _seed_pre_registrations()
            window, _ = load_demo_window()
            # Other apps' demo data (billing...), registered from their AppConfig.ready().
            printed = [(name, seeder()) for name, seeder in demo_seeders()]
        self._print_summary()
        self.stdout.write(f"Demo maintenance window: {window.title_en} (see /status/)\n")
        for _name, lines in printed:
            for line in lines:
                self.stdout.write(line)

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
        self._print_delegation()
        out("")

    def _print_delegation(self) -> None:
        out = self.stdout.write
        account = BusinessAccount.objects.get(customer_number=ADMINISTERED)
        out(f"\nDelegated users: the demo user administers {account.legal_name} (every right).")
        small = BusinessAccount.objects.get(customer_number=SMALL_BUSINESS)
        out(f"  It also administers {small.legal_name} (validate right), to try a small business.")
        out(
            "  1. Sign in as the demo user and turn on two-factor authentication"
            f" ({settings.PORTAL_BASE_URL}{reverse('mfa_index')}): confirming a user needs it."
        )
        out(
            f"  2. Open {settings.PORTAL_BASE_URL}{reverse('accounts:users', args=[account.pk])}"
            " and choose Add a user. Pre-registered and waiting:"
        )
        for person in PreRegistration.objects.filter(used_at__isnull=True).select_related(
            "account"
        ):
            out(f"       {person.full_name:<16} for {person.account.legal_name}")
        out(
            "  3. The new user's identifier (e-mail) and temporary password (SMS) are printed in"
            " the web server's console; they sign in, then set a password and two-factor first."
        )
        out(
            f"  {PREPARER_EMAIL} (same password) is an administrator with the manage right only:"
            " what they prepare waits in To validate for the demo user."
        )


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


def _seed_user(email: str, name: tuple[str, str], *, staff: bool) -> Any:
    first_name, last_name = name  # so e-mails and removal pages name a person, not an address
    user, created = get_user_model().objects.update_or_create(
        username=email,
        defaults={"email": email, "first_name": first_name, "last_name": last_name},
        create_defaults={
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "is_staff": staff,
            "is_superuser": staff,
        },
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


def _seed_link(user: Any, account: BusinessAccount, level: Right) -> None:
    """An administrator link made by support staff, with `level` on the whole account."""
    link = AccountLink.objects.filter(
        user=user, account=account, status=AccountLink.Status.ACTIVE
    ).first()
    if link is None:
        link = AccountLink.objects.create(
            user=user, account=account, is_administrator=True, method=AccountLink.Method.STAFF
        )
    Grant.objects.update_or_create(link=link, contract=None, defaults={"level": level})


def _seed_pre_registrations() -> None:
    for customer_number, last, first, born, phone, email in PRE_REGISTRATIONS:
        account = BusinessAccount.objects.get(customer_number=customer_number)
        PreRegistration.objects.get_or_create(
            account=account,
            last_name=last,
            first_name=first,
            defaults={
                "date_of_birth": datetime.date.fromisoformat(born),
                "mobile_phone": phone,
                "email": email,
            },
        )
