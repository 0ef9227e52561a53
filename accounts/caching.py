"""Which writes make cached fragments of account pages and of "My business accounts" stale
(portal.fragments): every row of an account, and a user's own name, addresses and second
factors, which the Users page of each of their accounts shows. Link notices are not among them:
no account page shows one, and stamping each one sent must stay cheap (the e-mail fan-out)."""

from collections.abc import Iterable

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator

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
from portal.fragments import (
    account_scope,
    changed,
    invalidate_on,
    invalidate_on_account_rows,
    user_scope,
)

ACCOUNT_ROWS = (Contract, Contact, PreRegistration, ValidationRequest, Investigation, AuditEvent)


def register() -> None:
    invalidate_on_account_rows(*ACCOUNT_ROWS)
    invalidate_on(BusinessAccount, _account_and_its_users)
    invalidate_on(AccountLink, lambda link: _link_scopes(link.account_id, link.user_id))
    invalidate_on(Grant, lambda grant: _scopes_of_link(grant.link_id))
    invalidate_on(User, lambda user: scopes_of_user(user.pk))
    invalidate_on(EmailAddress, lambda address: scopes_of_user(address.user_id))
    invalidate_on(Authenticator, lambda authenticator: scopes_of_user(authenticator.user_id))


def user_changed(user_id: int) -> None:
    """For writes that send no signal (a queryset update of the user)."""
    changed(*scopes_of_user(user_id))


def scopes_of_user(user_id: int) -> list[str | None]:
    """The user's own list, and every account they are (or were) linked to."""
    accounts = AccountLink.objects.filter(user_id=user_id).values_list("account_id", flat=True)
    return [user_scope(user_id), *(account_scope(pk) for pk in accounts)]


def _link_scopes(account_id: int, user_id: int) -> list[str | None]:
    return [account_scope(account_id), user_scope(user_id)]


def _scopes_of_link(link_id: int) -> Iterable[str | None]:
    # Read by id: when the link itself is being deleted it is gone, and its own signal says so.
    found = AccountLink.objects.filter(pk=link_id).values_list("account_id", "user_id").first()
    return _link_scopes(*found) if found else []


def _account_and_its_users(account: BusinessAccount) -> list[str | None]:
    users = AccountLink.objects.filter(account_id=account.pk).values_list("user_id", flat=True)
    return [account_scope(account.pk), *(user_scope(pk) for pk in users)]
