"""The one place that answers "may this user do this, here?" for every app.

Views, selectors, services, tasks, templates and the admin ask these functions; nothing else
reads grants. A right is a level (CONSULT < MANAGE < VALIDATE, each including the ones below)
granted to an active link on the whole account or on one contract of it; a grant on the whole
account satisfies every contract of that account. A contract grant counts only while the contract
belongs to the link's account (support staff cannot move a saved contract, and if one moved all
the same its old grants would reach nothing). Being an account administrator is a separate flag
on the link.

Where an action concerns the account itself, the whole account is the reading: `can` on an
account, administration, and `scope` over objects without a contract ask a grant on the whole
account. `accounts_for` and `get_account_or_404` keep "reached through any grant" as their
default, because their callers are lists and pages that a contract-only user must open (the
account list, the account page, leaving, reporting, the queue of contract actions); a caller
acting on the account itself passes `whole=True` (get_administered_account_or_404 does).
Other apps narrow their own objects with `scope`, never with a hand-written filter on grants.

Every function costs a constant number of queries (most one), however many accounts, links or
grants there are. Pages that ask many times use `for_request(request)`: the user's rights on an
account read once per request (on first question), answered in memory afterwards.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.db.models import Exists, F, Model, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from accounts import validation

# Right and the default-right bounds live with the models that store them; callers keep asking
# this module for them.
from accounts.models import DEFAULT_RIGHT_CHOICES as DEFAULT_RIGHT_CHOICES
from accounts.models import HIGHEST_DEFAULT_RIGHT as HIGHEST_DEFAULT_RIGHT
from accounts.models import AccountLink, BusinessAccount, Contract, Grant, User, ValidationRequest
from accounts.models import Right as Right

if TYPE_CHECKING:
    from accounts.validation import Action

M = TypeVar("M", bound=Model)


def _signed_in(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def _grants(user: Any, level: int) -> "QuerySet[Grant]":
    return Grant.objects.filter(
        link__user=user, link__status=AccountLink.Status.ACTIVE, level__gte=level
    )


def _on(target: "BusinessAccount | Contract") -> Q:
    """The grants that cover `target`: the account's own, plus the contract's for a contract.

    Both through a link to the account that owns the target now: a contract grant written while
    the contract belonged to another account covers nothing.
    """
    if isinstance(target, Contract):
        return Q(link__account_id=target.account_id) & (
            Q(contract__isnull=True) | Q(contract_id=target.pk)
        )
    return Q(contract__isnull=True, link__account_id=target.pk)


def _covers_its_account() -> Q:
    """For grants read per account: whole-account ones, and those on a contract it still owns."""
    return Q(contract__isnull=True) | Q(contract__account_id=F("link__account_id"))


# --- questions: one query each -----------------------------------------------------------------


def can(user: Any, level: Right | int, target: "BusinessAccount | Contract") -> bool:
    """Whether `user` holds at least `level` on `target` (an account, or a contract of one)."""
    if not _signed_in(user):
        return False
    return _grants(user, level).filter(_on(target)).exists()


def accounts_for(
    user: Any, level: Right | int = Right.CONSULT, *, whole: bool = False
) -> "QuerySet[BusinessAccount]":
    """The accounts `user` reaches with at least `level`, through an active link.

    An account is reached through a grant on it or on one of its contracts; `whole=True` asks
    for the whole account (what an action on the account itself needs). Lists start from here
    so the scope is never forgotten.
    """
    accounts = BusinessAccount.objects
    if not _signed_in(user):
        return accounts.none()
    grants = _grants(user, level).filter(link__account=OuterRef("pk"))
    grants = grants.filter(contract__isnull=True) if whole else grants.filter(_covers_its_account())
    return accounts.filter(Exists(grants))


def contracts_for(
    user: Any, level: Right | int, account: "BusinessAccount"
) -> "QuerySet[Contract]":
    """The contracts of `account` on which `user` holds at least `level`."""
    contracts = Contract.objects.filter(account=account)
    if not _signed_in(user):
        return contracts.none()
    held = _grants(user, level).filter(link__account=account)
    return contracts.filter(
        Exists(held.filter(contract__isnull=True)) | Exists(held.filter(contract=OuterRef("pk")))
    )


def scope(
    queryset: "QuerySet[M]",
    user: Any,
    level: Right | int,
    *,
    account_field: str = "account",
    contract_field: str | None = None,
) -> "QuerySet[M]":
    """The objects of `queryset` that `user` reaches with at least `level`: still one query.

    Any app's objects, so none writes this filter by hand. `account_field` (and `contract_field`)
    name the object's account (contract), as lookups from the model ("policy__account" works).

    - Without `contract_field` the object concerns the account itself (a billing profile, a
      statement): only a grant on the whole account reaches it.
    - With `contract_field`, an object on a contract is reached through a grant on that contract
      (while the contract still belongs to the account) or on the whole account; an object
      whose contract is empty concerns the whole account again, so only a whole-account grant
      reaches it. A contract grant never widens to what is not on its contract.
    """
    if not _signed_in(user):
        return queryset.none()
    held = _grants(user, level).filter(link__account_id=OuterRef(account_field))
    reach = Q(Exists(held.filter(contract__isnull=True)))
    if contract_field is not None:
        on_its_contract = held.filter(
            contract_id=OuterRef(contract_field), contract__account_id=F("link__account_id")
        )
        reach |= Q(Exists(on_its_contract))
    return queryset.filter(reach)


def is_administrator(user: Any, account: "BusinessAccount") -> bool:
    if not _signed_in(user):
        return False
    return AccountLink.objects.filter(
        user=user, account=account, status=AccountLink.Status.ACTIVE, is_administrator=True
    ).exists()


def get_account_or_404(
    user: Any, level: Right | int, account_id: int, *, whole: bool = False
) -> "BusinessAccount":
    # A missing account and another business's account get the same answer.
    return get_object_or_404(accounts_for(user, level, whole=whole), pk=account_id)


def get_administered_account_or_404(
    user: Any, account_id: int, level: Right | int | None = None
) -> "BusinessAccount":
    """An account `user` administers (holding `level` on the whole of it, when given), or 404."""
    if not _signed_in(user):  # before any query: an anonymous user is no value for a filter
        raise Http404
    accounts = BusinessAccount.objects.filter(
        Exists(
            AccountLink.objects.filter(
                account=OuterRef("pk"),
                user=user,
                status=AccountLink.Status.ACTIVE,
                is_administrator=True,
            )
        )
    )
    if level is not None:
        accounts = accounts.filter(pk__in=accounts_for(user, level, whole=True).values("pk"))
    return get_object_or_404(accounts, pk=account_id)


# --- the validation queue asks these -----------------------------------------------------------


def may_validate(
    user: Any,
    action: "Action",
    account: "BusinessAccount",
    payload: Any,
    summary: "RightsSummary | None" = None,
) -> bool:
    """Whether `user` may commit `action` directly (or approve a request for it).

    Pass the user's `summary` (for_request) to answer in memory, e.g. for every row of a list.
    """
    return _may(user, Right.VALIDATE, action, account, payload, summary)


def may_prepare(
    user: Any,
    action: "Action",
    account: "BusinessAccount",
    payload: Any,
    summary: "RightsSummary | None" = None,
) -> bool:
    """Whether `user` may ask for `action`: MANAGE on its target is enough to prepare it.

    Whoever may validate an action may also prepare it (VALIDATE includes MANAGE).
    """
    return _may(user, Right.MANAGE, action, account, payload, summary)


def _may(
    user: Any,
    level: Right,
    action: "Action",
    account: "BusinessAccount",
    payload: Any,
    summary: "RightsSummary | None" = None,
) -> bool:
    target = action.target(account, payload)
    if summary is not None:
        administrator = summary.is_administrator(account)
        return (administrator or not action.administration) and summary.can(level, target)
    if action.administration and not is_administrator(user, account):
        return False
    return can(user, level, target)


def may_decide(
    user: Any, request: ValidationRequest, summary: "RightsSummary | None" = None
) -> bool:
    """Whether `user` may approve or reject `request` (in memory with the user's rights
    `summary`): not its preparer, only while pending, and only with the right its action needs."""
    if request.prepared_by_id == user.pk or not request.is_pending:
        return False
    action = validation.action_for(request.kind)
    return may_validate(user, action, request.account, request.payload, summary)


def validators_of(action: "Action", account: "BusinessAccount", payload: Any) -> "QuerySet[User]":
    """The users who may approve a request for `action`: one query."""
    target = action.target(account, payload)
    links = AccountLink.objects.filter(
        account=account,
        status=AccountLink.Status.ACTIVE,
        grants__in=Grant.objects.filter(_on(target), level__gte=Right.VALIDATE),
    )
    if action.administration:
        links = links.filter(is_administrator=True)
    return User.objects.filter(pk__in=links.values("user_id"), is_active=True).order_by("pk")


def users_holding(level: Right | int, target: "BusinessAccount | Contract") -> "QuerySet[User]":
    """The active users holding at least `level` on `target` (e.g. whom to tell that a return
    policy was suspended): one query."""
    account_id = target.account_id if isinstance(target, Contract) else target.pk
    links = AccountLink.objects.filter(
        account_id=account_id,
        status=AccountLink.Status.ACTIVE,
        grants__in=Grant.objects.filter(_on(target), level__gte=level),
    )
    return User.objects.filter(pk__in=links.values("user_id"), is_active=True).order_by("pk")


def administrators_who_validate(
    account: "BusinessAccount",
) -> "QuerySet[AccountLink]":
    """The active links of `account`'s administrators holding VALIDATE on the whole of it.

    An account keeps at least one (accounts.services.guards): an administrator without that
    right can neither confirm users nor give rights, so it would be left with nobody who can act.
    """
    return AccountLink.objects.filter(
        account=account,
        status=AccountLink.Status.ACTIVE,
        is_administrator=True,
        grants__contract__isnull=True,
        grants__level__gte=Right.VALIDATE,
    )


# --- the per-request summary -------------------------------------------------------------------


@dataclass(frozen=True)
class AccountRights:
    """What one user may do on one account: the whole-account level and each contract's."""

    account_id: int
    administrator: bool = False
    whole: Right | None = None
    contracts: Mapping[int, Right] = field(default_factory=dict)

    def level_on(self, contract_id: int | None = None) -> Right | None:
        """The level held on the whole account (None) or on a contract, whichever is higher."""
        levels = [self.whole, self.contracts.get(contract_id) if contract_id else None]
        held = [level for level in levels if level is not None]
        return max(held) if held else None

    def can(self, level: Right | int, contract_id: int | None = None) -> bool:
        held = self.level_on(contract_id)
        return held is not None and held >= level

    @property
    def highest(self) -> Right | None:
        held = [level for level in (self.whole, *self.contracts.values()) if level is not None]
        return max(held) if held else None


@dataclass(frozen=True)
class RightsSummary:
    """Everything one user may do, read in one query; asked in memory afterwards."""

    accounts: Mapping[int, AccountRights] = field(default_factory=dict)

    def of(self, account: "BusinessAccount | int") -> AccountRights:
        account_id = account if isinstance(account, int) else account.pk
        return self.accounts.get(account_id) or AccountRights(account_id=account_id)

    def can(self, level: Right | int, target: "BusinessAccount | Contract") -> bool:
        if isinstance(target, Contract):
            return self.of(target.account_id).can(level, target.pk)
        return self.of(target).can(level)

    def is_administrator(self, account: "BusinessAccount | int") -> bool:
        return self.of(account).administrator

    def preload(self, accounts: Iterable["BusinessAccount | int"]) -> None:
        """Nothing to read: this summary holds every account already."""


def summary_for(user: Any) -> RightsSummary:
    """The user's rights on every account they act for: one query however many."""
    if not _signed_in(user):
        return RightsSummary()
    links = AccountLink.objects.filter(user=user, status=AccountLink.Status.ACTIVE)
    return RightsSummary(accounts=_summarise(links.values_list(*_SUMMARY_COLUMNS)))


# The contract's own account comes along so a grant on a contract since moved counts for nothing.
_SUMMARY_COLUMNS = (
    "account_id",
    "is_administrator",
    "grants__contract_id",
    "grants__contract__account_id",
    "grants__level",
)


def _summarise(
    rows: Iterable[tuple[int, bool, int | None, int | None, int | None]],
) -> dict[int, AccountRights]:
    found: dict[int, dict[str, Any]] = {}
    for account_id, administrator, contract_id, contract_account_id, level in rows:
        entry = found.setdefault(
            account_id, {"administrator": administrator, "whole": None, "contracts": {}}
        )
        if level is None:  # a link without any grant (LEFT JOIN)
            continue
        if contract_id is not None and contract_account_id != account_id:
            continue  # the contract belongs to another account now
        if contract_id is None:
            entry["whole"] = Right(level)
        else:
            entry["contracts"][contract_id] = Right(level)
    return {pk: AccountRights(account_id=pk, **entry) for pk, entry in found.items()}


def of_user(user: Any, account: "BusinessAccount") -> AccountRights:
    """One user's rights on one account (one query)."""
    return summary_for_accounts(user, [account]).of(account)


def summary_for_accounts(user: Any, accounts: Iterable["BusinessAccount"]) -> RightsSummary:
    if not _signed_in(user):
        return RightsSummary()
    links = AccountLink.objects.filter(
        user=user,
        status=AccountLink.Status.ACTIVE,
        account__in=[account.pk for account in accounts],
    )
    return RightsSummary(accounts=_summarise(links.values_list(*_SUMMARY_COLUMNS)))


@dataclass(frozen=True)
class RequestRights(RightsSummary):
    """for_request's summary: each account's rights read when first asked (one query), then
    answered in memory; a page about one account never reads the user's hundred others."""

    user: Any = None

    def of(self, account: "BusinessAccount | int") -> AccountRights:
        account_id = account if isinstance(account, int) else account.pk
        if account_id not in self.accounts:
            self.preload([account_id])
        return super().of(account_id)

    def preload(self, accounts: Iterable["BusinessAccount | int"]) -> None:
        """Read the rights on every one of `accounts` in one query (a page listing them)."""
        wanted = {account if isinstance(account, int) else account.pk for account in accounts}
        links = AccountLink.objects.filter(
            user=self.user, status=AccountLink.Status.ACTIVE, account_id__in=wanted
        )
        found = _summarise(links.values_list(*_SUMMARY_COLUMNS))
        held = cast(dict[int, AccountRights], self.accounts)
        held.update({pk: found.get(pk) or AccountRights(account_id=pk) for pk in wanted})


_REQUEST_ATTRIBUTE = "_portal_rights_summary"


def for_request(request: HttpRequest) -> RightsSummary:
    """The signed-in user's rights for this request (templates ask this): each account's read
    at most once per request."""
    summary = getattr(request, _REQUEST_ATTRIBUTE, None)
    if summary is None:
        user = getattr(request, "user", None)
        summary = RequestRights(accounts={}, user=user) if _signed_in(user) else RightsSummary()
        setattr(request, _REQUEST_ATTRIBUTE, summary)
    return summary


def forget_for_request(request: HttpRequest) -> None:
    """After a view changed rights: the next question reads them again."""
    if hasattr(request, _REQUEST_ATTRIBUTE):
        delattr(request, _REQUEST_ATTRIBUTE)
