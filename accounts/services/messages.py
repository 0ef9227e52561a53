"""Queuing the delegated-users messages on the portal's outbox, in the caller's transaction.

The dedupe key is the kind, what the message is about (the link, the audit event or the
request) and the recipient: the same message to the same person for the same reason goes once.
"""

from typing import Any

from accounts.messages import Kind
from accounts.models import BusinessAccount, User
from portal import outbox
from portal.models import Delivery


def queue_email(
    *, kind: Kind, to: User, account: BusinessAccount | None, about: str, **facts: Any
) -> Delivery:
    """One e-mail to `to`, in their language; `facts` are plain JSON values, never a secret.

    `about` names what the message is about, e.g. "link:12", "event:40", "request:3".
    """
    return outbox.queue_email(
        kind=kind,
        to=to.email,
        user=to,
        language=to.language,
        account_id=account.pk if account else None,
        facts=facts,
        dedupe_key=f"{kind}:{about}:user:{to.pk}",
    )


def queue_temporary_password(
    *, user: User, phone: str, account: BusinessAccount | None, about: str
) -> Delivery:
    """The text that gives a new user their temporary password (made when it is sent)."""
    return outbox.queue_sms(
        kind=Kind.TEMPORARY_PASSWORD,
        to=phone,
        user=user,
        language=user.language,
        account_id=account.pk if account else None,
        facts={},
        dedupe_key=f"{Kind.TEMPORARY_PASSWORD}:{about}:user:{user.pk}",
    )
