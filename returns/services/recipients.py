"""Who is told about returns by e-mail ("Paramètres des avis"): add, change and remove the
account's notification recipients, at most four.

Every change needs MANAGE on the whole account (the recipients concern the account itself) and
the RETURN_POLICIES feature open. The limit holds under concurrency: each change locks the
account's row first, so two additions at once are counted one after the other and the second of
a fifth is refused. An address that unsubscribed stays listed (and keeps its place); adding it
again subscribes it again with the settings given.
"""

from dataclasses import dataclass

from django.contrib.auth.base_user import BaseUserManager
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import audit, rights
from accounts.models import AuditEvent, BusinessAccount, Right, User
from outages.features import Feature
from outages.gate import ensure_open
from returns.exceptions import NotAllowed, RecipientExists, ReturnsError, TooManyRecipients
from returns.models import NotificationRecipient
from returns.models.notifications import MAX_RECIPIENTS

Event = AuditEvent.Event


class RecipientNotFound(ReturnsError):
    message = _("This recipient does not exist or was removed.")


@dataclass(frozen=True)
class RecipientSettings:
    """What is chosen for a recipient: the address is set once (to change it, remove the
    recipient and add the new address), the rest can change."""

    language: str
    on_accepted: bool
    on_exception: bool
    on_delivered: bool
    mode: str


def recipients_of(account: BusinessAccount) -> "list[NotificationRecipient]":
    """The account's recipients, oldest first (at most MAX_RECIPIENTS rows: one query)."""
    return list(NotificationRecipient.objects.filter(account=account).order_by("pk"))


def normalize_email(email: str) -> str:
    """The address as stored: trimmed, its domain in lower case."""
    return BaseUserManager.normalize_email(email.strip())


def add_recipient(
    *,
    actor: User,
    account: BusinessAccount,
    email: str,
    settings: RecipientSettings,
    ip: str | None,
) -> NotificationRecipient:
    """A new recipient of the account's returns e-mails; an address that unsubscribed is
    subscribed again with `settings`. Raises FeatureClosed, NotAllowed (MANAGE on the whole
    account), RecipientExists (the address already receives them), TooManyRecipients."""
    ensure_open(Feature.RETURN_POLICIES)
    _require_manage(actor, account)
    email = normalize_email(email)
    with transaction.atomic():
        _lock(account)
        existing = NotificationRecipient.objects.filter(account=account, email__iexact=email)
        recipient = existing.first()
        if recipient is not None and recipient.unsubscribed_at is None:
            raise RecipientExists()
        if recipient is None:
            if NotificationRecipient.objects.filter(account=account).count() >= MAX_RECIPIENTS:
                raise TooManyRecipients()
            recipient = NotificationRecipient(account=account, email=email)
            change = "added"
        else:
            recipient.unsubscribed_at = None
            change = "subscribed again"
        _apply(recipient, settings)
        try:
            with transaction.atomic():
                recipient.save()
        except IntegrityError:  # only without the lock (it is held): the unique address decides
            raise RecipientExists() from None
        _record(actor, account, ip, change, recipient)
    return recipient


def update_recipient(
    *,
    actor: User,
    account: BusinessAccount,
    recipient_id: int,
    settings: RecipientSettings,
    ip: str | None,
) -> NotificationRecipient:
    """Change a recipient's language, events and mode (an address that unsubscribed stays
    unsubscribed). Raises FeatureClosed, NotAllowed, RecipientNotFound."""
    ensure_open(Feature.RETURN_POLICIES)
    _require_manage(actor, account)
    with transaction.atomic():
        _lock(account)
        recipient = _recipient(account, recipient_id)
        _apply(recipient, settings)
        recipient.save()
        _record(actor, account, ip, "changed", recipient)
    return recipient


def remove_recipient(
    *, actor: User, account: BusinessAccount, recipient_id: int, ip: str | None
) -> NotificationRecipient:
    """Stop e-mailing a recipient and free its place. E-mails already queued for it are not
    sent (the outbox finds it gone). Raises FeatureClosed, NotAllowed, RecipientNotFound."""
    ensure_open(Feature.RETURN_POLICIES)
    _require_manage(actor, account)
    with transaction.atomic():
        _lock(account)
        recipient = _recipient(account, recipient_id)
        _record(actor, account, ip, "removed", recipient)
        recipient.delete()
    return recipient


def unsubscribe_recipient(recipient_id: int, *, ip: str | None) -> NotificationRecipient | None:
    """The recipient's own one-click unsubscribe (no sign-in, never gated): stamped once, so a
    second click changes nothing. None when the recipient was removed meanwhile."""
    with transaction.atomic():
        recipient = (
            NotificationRecipient.objects.select_for_update(of=("self",))
            .select_related("account")
            .filter(pk=recipient_id)
            .first()
        )
        if recipient is None or recipient.unsubscribed_at is not None:
            return recipient
        recipient.unsubscribed_at = timezone.now()
        recipient.save(update_fields=["unsubscribed_at"])
        _record(None, recipient.account, ip, "unsubscribed", recipient)
    return recipient


def _require_manage(actor: User, account: BusinessAccount) -> None:
    if not rights.can(actor, Right.MANAGE, account):
        raise NotAllowed()


def _lock(account: BusinessAccount) -> None:
    """Serialize the changes of one account's recipients (the count of four is read after)."""
    BusinessAccount.objects.select_for_update().filter(pk=account.pk).values_list("pk").get()


def _recipient(account: BusinessAccount, recipient_id: int) -> NotificationRecipient:
    recipient = NotificationRecipient.objects.filter(account=account, pk=recipient_id).first()
    if recipient is None:
        raise RecipientNotFound()
    return recipient


def _apply(recipient: NotificationRecipient, settings: RecipientSettings) -> None:
    recipient.language = settings.language
    recipient.on_accepted = settings.on_accepted
    recipient.on_exception = settings.on_exception
    recipient.on_delivered = settings.on_delivered
    recipient.mode = settings.mode


def events_of(recipient: NotificationRecipient) -> list[str]:
    """The event kinds `recipient` chose, in the order the page lists them."""
    chosen = (
        ("ACCEPTED", recipient.on_accepted),
        ("EXCEPTION", recipient.on_exception),
        ("DELIVERED", recipient.on_delivered),
    )
    return [kind for kind, wanted in chosen if wanted]


def _record(
    actor: User | None,
    account: BusinessAccount,
    ip: str | None,
    change: str,
    recipient: NotificationRecipient,
) -> None:
    audit.record(
        actor=actor,
        account=account,
        event=Event.RETURN_RECIPIENTS_CHANGED,
        ip=ip,
        change=change,
        email=recipient.email,
        language=recipient.language,
        mode=recipient.mode,
        events=",".join(events_of(recipient)),
    )
