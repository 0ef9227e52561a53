"""Rules several services share: the lock order and the last administrator.

The lock order: every change to an account's links locks the account's row first, then the
links (several accounts: by account id, then by link id). Two removals that took the same rows
in opposite orders could each wait for the other, and PostgreSQL would end one with an error.
"""

from collections.abc import Iterable

from accounts import rights
from accounts.exceptions import LastAdministrator
from accounts.models import AccountLink, BusinessAccount


def lock_account(account: BusinessAccount) -> BusinessAccount:
    """Serialise the changes to one account's administrators and users on its row."""
    return BusinessAccount.objects.select_for_update().get(pk=account.pk)


def lock_links(link_ids: Iterable[int]) -> list[AccountLink]:
    """The active links among `link_ids`, locked in the one order: their accounts, then them.

    Call inside a transaction. A link never changes account, so the accounts to lock are read
    without a lock; a link removed meanwhile is left out once its account is locked.
    """
    ids = list(link_ids)
    account_ids = AccountLink.objects.filter(pk__in=ids).values("account_id")
    list(BusinessAccount.objects.select_for_update().filter(pk__in=account_ids).order_by("pk"))
    return list(
        AccountLink.objects.select_for_update(of=("self",))
        .select_related("user", "account")
        .filter(pk__in=ids, status=AccountLink.Status.ACTIVE)
        .order_by("account_id", "pk")
    )


def keep_an_administrator(
    *, account: BusinessAccount, losing: AccountLink, still_validates: bool = False
) -> None:
    """Raise LastAdministrator when the change to `losing` would leave `account` without an
    administrator holding VALIDATE on the whole of it.

    `losing` is removed or loses the administrator role, or (`still_validates=False`) keeps the
    role without VALIDATE on the whole account. Call it inside the transaction, after
    lock_account(), so two administrators removing each other at once cannot both pass.
    """
    if still_validates:
        return
    able = set(rights.administrators_who_validate(account).values_list("pk", flat=True))
    if able == {losing.pk}:
        raise LastAdministrator()
