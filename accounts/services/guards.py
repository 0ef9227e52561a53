"""Rules several services share: who acts, the last administrator, work after commit."""

from collections.abc import Callable
from functools import partial

from django.db import transaction

from accounts.exceptions import LastAdministrator
from accounts.models import AccountLink, BusinessAccount


def lock_account(account: BusinessAccount) -> BusinessAccount:
    """Serialise the changes to one account's administrators and users on its row."""
    return BusinessAccount.objects.select_for_update().get(pk=account.pk)


def keep_an_administrator(*, account: BusinessAccount, losing: AccountLink) -> None:
    """Raise LastAdministrator when `losing` is the account's only active administrator.

    Call it inside the transaction, after lock_account(), so two administrators removing each
    other at once cannot both pass.
    """
    if not losing.is_administrator or losing.status != AccountLink.Status.ACTIVE:
        return
    others = (
        AccountLink.objects.filter(
            account=account, status=AccountLink.Status.ACTIVE, is_administrator=True
        )
        .exclude(pk=losing.pk)
        .exists()
    )
    if not others:
        raise LastAdministrator()


def after_commit(send: Callable[..., object], **kwargs: int) -> None:
    # robust: with the broker down the change still stands; the sweeper re-queues what was lost.
    transaction.on_commit(partial(send, **kwargs), robust=True)
