"""Queuing billing's e-mails on the portal's outbox, in the caller's transaction.

Each goes to the account's billing recipients (billing.selectors.billing_recipients), in each
contact's language; the dedupe key is the kind, what it is about and the address, so a job run
twice tells nobody twice.
"""

from typing import Any

from accounts.models import BusinessAccount, Contact
from billing import selectors
from billing.messages import Kind
from portal import outbox


def tell_billing_contacts(*, kind: Kind, account: BusinessAccount, about: str, **facts: Any) -> int:
    """One e-mail of `kind` to each billing recipient of `account`; returns how many."""
    recipients = selectors.billing_recipients(account)
    for contact in recipients:
        _queue(kind=kind, contact=contact, account=account, about=about, facts=facts)
    return len(recipients)


def tell_contacts(
    *, kind: Kind, account: BusinessAccount, contacts: list[Contact], about: str, **facts: Any
) -> None:
    for contact in contacts:
        _queue(kind=kind, contact=contact, account=account, about=about, facts=facts)


def _queue(
    *, kind: Kind, contact: Contact, account: BusinessAccount, about: str, facts: dict[str, Any]
) -> None:
    outbox.queue_email(
        kind=kind,
        to=contact.email,
        language=contact.language,
        account_id=account.pk,
        facts={"contact_name": contact.name, **facts},
        dedupe_key=f"{kind}:{about}:{contact.email.lower()}",
    )
