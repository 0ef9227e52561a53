"""Read queries for the accounts views, services and tasks; each chooses its joins here."""

import hmac
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Lower
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy, pgettext_lazy

from accounts import rights
from accounts.models import (
    AccountLink,
    AuditEvent,
    BusinessAccount,
    Contact,
    Contract,
    Grant,
    Investigation,
    PreRegistration,
    User,
    ValidationRequest,
)

# Compared against when no account matches, so an unknown customer number costs the same work.
_NO_POSTAL_CODE = "\x00" * 7


@dataclass(frozen=True)
class ProofCheck:
    """The account the customer number names (if any) and whether every proof matched it."""

    account: BusinessAccount | None
    matched: bool


def check_link_proofs(
    *, customer_number: str, postal_code: str, contract_number: str
) -> ProofCheck:
    """Compare the typed proofs with the records, doing the same work whatever is wrong.

    Always two queries and constant-time comparisons of every proof, with no early return, so
    the answer's timing does not tell which proof failed or whether the account exists.
    """
    account = BusinessAccount.objects.filter(customer_number=customer_number).first()
    active_contracts = list(
        Contract.objects.filter(
            account__customer_number=customer_number, status=Contract.Status.ACTIVE
        ).values_list("number", flat=True)
    )
    expected_postal = account.postal_code if account else _NO_POSTAL_CODE
    postal_ok = _same(postal_code, expected_postal)
    # The contract number is a proof only when the account has an active contract; without one
    # it is still compared (with itself) so both kinds of account cost the same work.
    contract_ok = _matches_any(contract_number, active_contracts or [contract_number])
    return ProofCheck(account=account, matched=(account is not None) & postal_ok & contract_ok)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _matches_any(given: str, candidates: list[str]) -> bool:
    found = False
    for candidate in candidates:  # every candidate is compared: no early exit
        found |= _same(given, candidate)
    return found


def linked_accounts(*, user: User | AnonymousUser) -> QuerySet[BusinessAccount]:
    """The accounts on the user's "My business accounts" page: one query however many."""
    return rights.accounts_for(user).order_by("legal_name", "pk")


def acting_for_an_account(features: frozenset[str]) -> QuerySet[User]:
    """The maintenance audience of accounts (outages.audience): whoever acts for a business
    account is concerned by a window on any capability that is not everyone's, since every such
    capability (delegation, payments, invoices, returns...) is used for an account."""
    return User.objects.filter(
        Exists(AccountLink.objects.filter(user=OuterRef("pk"), status=AccountLink.Status.ACTIVE))
    )


def active_link(*, user: User, account: BusinessAccount) -> AccountLink | None:
    return AccountLink.objects.filter(
        user=user, account=account, status=AccountLink.Status.ACTIVE
    ).first()


def is_primary_contact(*, user: User, account: BusinessAccount) -> bool:
    """True when one of the user's confirmed e-mail addresses is a PRIMARY contact's.

    Confirmed means by its owner, through the link allauth e-mails: an address an administrator
    typed for a new user stays unconfirmed until then, so it proves nothing here.
    """
    confirmed = (
        EmailAddress.objects.filter(user=user, verified=True)
        .annotate(lowered=Lower("email"))
        .values("lowered")
    )
    return (
        Contact.objects.filter(account=account, role=Contact.Role.PRIMARY)
        .annotate(lowered=Lower("email"))
        .filter(lowered__in=confirmed)
        .exists()
    )


def profile_with_confirmed_email(*, email: str) -> User | None:
    """The profile whose owner confirmed `email`, if any (at most one: allauth's constraint).

    An unconfirmed address proves nothing: anyone can add one to their own profile.
    """
    address = (
        EmailAddress.objects.filter(email__iexact=email.strip(), verified=True)
        .select_related("user")
        .first()
    )
    return address.user if address is not None else None


def notice_recipients(*, account: BusinessAccount) -> list[Contact]:
    """Who is told of a new link: PRIMARY contacts, plus BILLING ones of COMMERCIAL accounts.

    One contact per address (case-insensitive), the PRIMARY role first, so a person who holds
    both roles gets one e-mail.
    """
    roles = [Contact.Role.PRIMARY]
    if account.kind == BusinessAccount.Kind.COMMERCIAL:
        roles.append(Contact.Role.BILLING)
    contacts = Contact.objects.filter(account=account, role__in=roles).order_by(
        "-role",
        "pk",  # "PRIMARY" sorts after "BILLING": descending puts it first
    )
    unique: dict[str, Contact] = {}
    for contact in contacts:
        unique.setdefault(contact.email.lower(), contact)
    return list(unique.values())


@dataclass(frozen=True)
class Routing:
    """Who investigates suspicious activity on an account, and the number people call."""

    group: Investigation.Group
    phone: str
    # As said in a sentence ("the credit management group"); lazy, because pages for a contact
    # render in the contact's language, chosen after the routing is looked up.
    name: "str | Promise"
    # The same after "to": French contracts "à le groupe" into "au groupe", so the sentence
    # takes the whole phrase ("au Groupe de gestion du crédit") and drops its own "à".
    name_after_to: "str | Promise"


def investigation_routing(*, account: BusinessAccount) -> Routing:
    if account.kind == BusinessAccount.Kind.COMMERCIAL:
        return Routing(
            Investigation.Group.CREDIT_MANAGEMENT,
            settings.PORTAL_CREDIT_MANAGEMENT_PHONE,
            gettext_lazy("the credit management group"),
            pgettext_lazy("after to", "the credit management group"),
        )
    return Routing(
        Investigation.Group.SMALL_BUSINESS,
        settings.PORTAL_SMALL_BUSINESS_PHONE,
        gettext_lazy("the small business group"),
        pgettext_lazy("after to", "the small business group"),
    )


# --- delegated users ---------------------------------------------------------------------------


def account_contracts(*, account: BusinessAccount) -> list[Contract]:
    return list(Contract.objects.filter(account=account).order_by("number"))


def unused_pre_registrations(*, account: BusinessAccount) -> QuerySet[PreRegistration]:
    """The people support staff pre-registered for `account` and nobody added yet."""
    return PreRegistration.objects.filter(account=account, used_at__isnull=True).order_by(
        "last_name", "first_name", "pk"
    )


def account_users(*, account: BusinessAccount) -> QuerySet[AccountLink]:
    """The account's active links with their user and grants: three queries however many."""
    return (
        AccountLink.objects.filter(account=account, status=AccountLink.Status.ACTIVE)
        .select_related("user")
        .prefetch_related(Prefetch("grants", queryset=Grant.objects.order_by("contract_id")))
        .order_by("user__last_name", "user__first_name", "user__email", "pk")
    )


def account_user(*, account: BusinessAccount, link_id: int) -> AccountLink | None:
    """One active link of `account`; None for another account's link (the view answers 404)."""
    return account_users(account=account).filter(pk=link_id).first()


def audit_trail(*, account: BusinessAccount) -> QuerySet[AuditEvent]:
    """The account's audit events, newest first (the rows keep the actor's e-mail: no join)."""
    return AuditEvent.objects.filter(account=account).order_by("-created_at", "-pk")


def pending_requests(*, account: BusinessAccount) -> QuerySet[ValidationRequest]:
    return (
        ValidationRequest.objects.filter(account=account, state=ValidationRequest.State.PENDING)
        .select_related("prepared_by")
        .order_by("prepared_at", "pk")
    )


def pending_requests_of(
    *, account: BusinessAccount, user: User, kinds: list[str]
) -> QuerySet[ValidationRequest]:
    """The account's pending requests `user` prepared or whose kind is among `kinds`."""
    return pending_requests(account=account).filter(Q(prepared_by=user) | Q(kind__in=kinds))


def recent_decisions(*, account: BusinessAccount, limit: int = 20) -> list[ValidationRequest]:
    return list(
        ValidationRequest.objects.filter(account=account)
        .exclude(state=ValidationRequest.State.PENDING)
        .select_related("prepared_by", "decided_by")
        .order_by("-decided_at", "-pk")[:limit]
    )


def validation_request(*, account: BusinessAccount, request_id: int) -> ValidationRequest | None:
    return (
        ValidationRequest.objects.filter(account=account, pk=request_id)
        .select_related("prepared_by", "decided_by")
        .first()
    )
