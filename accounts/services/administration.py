"""What support staff change from the admin, through services so the audit row is written."""

from collections.abc import Iterable

from django.db import transaction

from accounts import audit
from accounts.models import AccountLink, AuditEvent, Grant, PreRegistration, User
from accounts.rights import Right
from accounts.services.guards import keep_an_administrator, lock_links
from outages.features import Feature
from outages.gate import ensure_open

Event = AuditEvent.Event


def mark_administrators(*, actor: User, link_ids: Iterable[int], ip: str | None) -> int:
    """Make the links' users administrators of their accounts; returns how many changed.

    Like a PRIMARY contact who links, an administrator also holds every right on the whole
    account: confirming users needs VALIDATE, and nobody gives rights they do not hold.
    """
    ensure_open(Feature.DELEGATED_USERS)
    changed = 0
    with transaction.atomic():
        for link in lock_links(link_ids):
            if link.is_administrator:
                continue
            link.is_administrator = True
            link.save(update_fields=["is_administrator"])
            Grant.objects.filter(link=link, contract__isnull=False).delete()
            Grant.objects.update_or_create(
                link=link, contract=None, defaults={"level": Right.VALIDATE}
            )
            _audit(actor, link, Event.ADMINISTRATOR_MARKED, ip)
            changed += 1
    return changed


def unmark_administrators(*, actor: User, link_ids: Iterable[int], ip: str | None) -> int:
    """Take the administrator role away (rights stay). Raises LastAdministrator, changing none,
    when that would leave an account without an administrator who validates on all of it."""
    ensure_open(Feature.DELEGATED_USERS)
    changed = 0
    with transaction.atomic():
        for link in lock_links(link_ids):
            if not link.is_administrator:
                continue
            keep_an_administrator(account=link.account, losing=link)
            link.is_administrator = False
            link.save(update_fields=["is_administrator"])
            _audit(actor, link, Event.ADMINISTRATOR_UNMARKED, ip)
            changed += 1
    return changed


def _audit(actor: User, link: AccountLink, event: AuditEvent.Event, ip: str | None) -> None:
    audit.record(
        actor=actor,
        account=link.account,
        event=event,
        ip=ip,
        link_id=link.pk,
        user_email=link.user.email,
    )


def save_pre_registration(
    *, actor: User, pre_registration: PreRegistration, changed: list[str], ip: str | None
) -> PreRegistration:
    """Staff enter or correct a person an administrator may add (personal data stays out of
    the audit row: it names the fields changed)."""
    with transaction.atomic():
        if pre_registration.pk is None:
            pre_registration.created_by = actor
        pre_registration.save()
        audit.record(
            actor=actor,
            account=pre_registration.account,
            event=Event.PRE_REGISTRATION_SAVED,
            ip=ip,
            pre_registration_id=pre_registration.pk,
            changed=sorted(changed),
        )
    return pre_registration
