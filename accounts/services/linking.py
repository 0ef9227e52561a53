"""Account linking: one function per use case, keyword-only, in a transaction, with its audit
row and its e-mails' outbox rows inside (the outbox hands them to a worker after commit)."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NoReturn

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import audit, notifications, removal_links, selectors
from accounts.exceptions import (
    AlreadyLinked,
    LinkAlreadyRemoved,
    LinkLockedOut,
    LinkNeedsSecondFactor,
    LinkRefused,
    RemovalLinkError,
)
from accounts.identifiers import (
    normalise_contract_number,
    normalise_customer_number,
    strip_separators,
)
from accounts.models import (
    AccountLink,
    AuditEvent,
    BusinessAccount,
    Grant,
    Investigation,
    LinkNotice,
    User,
)
from accounts.rights import Right
from accounts.services.guards import keep_an_administrator, lock_account, lock_links
from outages.features import Feature
from outages.gate import ensure_open
from portal import throttle
from portal.postal import normalise_postal_code

Event = AuditEvent.Event


# --- linking -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Proofs:
    """What the user typed, normalised; a malformed proof becomes "" and so never matches."""

    customer_number: str
    postal_code: str
    contract_number: str
    throttle_key: str  # the typed customer number, so guesses on one number add up

    @classmethod
    def from_typed(cls, customer_number: str, postal_code: str, contract_number: str) -> "_Proofs":
        return cls(
            customer_number=_or_empty(normalise_customer_number, customer_number),
            postal_code=_or_empty(normalise_postal_code, postal_code),
            contract_number=_or_empty(normalise_contract_number, contract_number),
            throttle_key=strip_separators(customer_number)[:32],
        )


def _or_empty(normalise: Callable[[str], str], raw: str) -> str:
    try:
        return normalise(raw)
    except ValidationError:
        return ""


def link_account(
    *,
    user: User,
    customer_number: str,
    postal_code: str,
    contract_number: str = "",
    ip: str | None,
    second_factor_confirmed: bool = False,
) -> AccountLink:
    """Link `user` to the account that every proof matches and tell its contacts.

    `second_factor_confirmed`: the user re-entered their second factor moments ago (the view
    asks portal.second_factor).

    Raises FeatureClosed (maintenance), LinkLockedOut (too many failures by this user or from
    this address), LinkNeedsSecondFactor (the typed customer number is under attack and no fresh
    second factor was given), LinkRefused (the same for any wrong or malformed proof and for an
    unknown account) or AlreadyLinked.
    """
    ensure_open(Feature.ACCOUNT_LINKING)
    proofs = _Proofs.from_typed(customer_number, postal_code, contract_number)
    mine = throttle.link_keys(user_id=user.pk, ip=ip)
    number = throttle.number_keys(proofs.throttle_key)
    _stop_if_locked(
        user=user,
        proofs=proofs,
        mine=mine,
        number=number,
        ip=ip,
        stepped_up=second_factor_confirmed,
    )
    check = selectors.check_link_proofs(
        customer_number=proofs.customer_number,
        postal_code=proofs.postal_code,
        contract_number=proofs.contract_number,
    )
    if not check.matched or check.account is None:
        _refuse(user=user, account=check.account, proofs=proofs, mine=mine, number=number, ip=ip)
    return _create_link(user=user, account=check.account, ip=ip)


def _stop_if_locked(
    *,
    user: User,
    proofs: _Proofs,
    mine: list[throttle.Key],
    number: list[throttle.Key],
    ip: str | None,
    stepped_up: bool,
) -> None:
    """Refuse a locked-out user or address; on a number under attack, ask for a second factor.

    Strangers' failures on a customer number must not lock out the person whose details are
    right, yet must not let guessing go on unhindered: while the number is locked, only a user
    who has just confirmed their second factor may try it (a guesser spreading over many
    profiles and addresses would need a second factor on each). Asked before any proof is
    checked, with the same work whatever was typed, so the question reveals nothing.
    """
    until = throttle.locked_until(mine)
    if until is not None:
        audit.record(actor=user, account=None, event=Event.LINK_LOCKED_OUT, ip=ip, until=until)
        raise LinkLockedOut(until)
    attacked_until = throttle.locked_until(number)
    if attacked_until is not None and not stepped_up:
        audit.record(
            actor=user,
            account=None,
            event=Event.LINK_STEP_UP_REQUIRED,
            ip=ip,
            typed_customer_number=proofs.throttle_key,
            until=attacked_until,
        )
        raise LinkNeedsSecondFactor(attacked_until)


def _refuse(
    *,
    user: User,
    account: BusinessAccount | None,
    proofs: _Proofs,
    mine: list[throttle.Key],
    number: list[throttle.Key],
    ip: str | None,
) -> NoReturn:
    """Count and audit a failed attempt, then raise LinkRefused (or LinkLockedOut when this user
    or address just reached its limit). A number reaching its limit alerts staff and the
    account's administrators; the person who typed wrong details is simply refused."""
    locked = throttle.note_failure(mine)
    attacked = throttle.note_failure(number)
    audit.record(
        actor=user,
        account=account,  # kept for staff and administrators; never shown to the person trying
        event=Event.LINK_REFUSED,
        ip=ip,
        typed_customer_number=proofs.throttle_key,
        locked_until=locked,
    )
    if attacked is not None:
        audit.record(
            actor=user,
            account=account,
            event=Event.LINK_GUESSING_ALERT,
            ip=ip,
            typed_customer_number=proofs.throttle_key,
            failures=throttle.limit_of(number[0]),
            second_factor_until=attacked,
        )
    if locked is not None:
        raise LinkLockedOut(locked)
    raise LinkRefused()


def _create_link(*, user: User, account: BusinessAccount, ip: str | None) -> AccountLink:
    # A PRIMARY contact linking is the business's own responsible person: they administer the
    # account and hold every right, so they can add and confirm its other users. Anyone else
    # gets the account's default rights, which its administrators choose.
    administrator = selectors.is_primary_contact(user=user, account=account)
    level = Right.VALIDATE if administrator else account.default_right
    try:
        with transaction.atomic():
            link = AccountLink.objects.create(
                user=user,
                account=account,
                is_administrator=administrator,
                method=AccountLink.Method.SELF,
                created_by=user,
            )
            Grant.objects.create(link=link, contract=None, level=level)
            notices = _create_notices(link)
            audit.record(
                actor=user,
                account=account,
                event=Event.LINKED,
                ip=ip,
                link_id=link.pk,
                administrator=administrator,
                level=level,
                notified=[notice.email for notice in notices],
            )
            for notice in notices:
                notifications.queue_link_notice(notice)
    except IntegrityError:  # the one-active-link constraint: a parallel submission won
        raise AlreadyLinked(account) from None
    return link


def _create_notices(link: AccountLink) -> list[LinkNotice]:
    return [
        LinkNotice.objects.create(
            link=link, email=contact.email, name=contact.name, language=contact.language
        )
        for contact in selectors.notice_recipients(account=link.account)
    ]


# --- removal -----------------------------------------------------------------------------------


def remove_own_link(*, user: User, account: BusinessAccount, ip: str | None) -> AccountLink:
    """The user stops acting for `account` (an administrator confirmed a fresh second factor in
    the view).

    Raises FeatureClosed, LinkAlreadyRemoved, or LastAdministrator when they are its only
    administrator holding VALIDATE on the whole account.
    """
    ensure_open(Feature.LINK_REMOVAL)
    with transaction.atomic():
        lock_account(account)
        link = _locked_active_link(user=user, account=account)
        keep_an_administrator(account=account, losing=link)
        _remove(link, by=user, via=AccountLink.RemovedVia.SELF, ip=ip)
    return link


def remove_link_with_token(*, token: str, ip: str | None) -> LinkNotice:
    """A contact removes the link their e-mail told them about; the token is then spent.

    Even the account's last administrator is removed: the link may be an impostor's, and the
    PRIMARY contact who received the e-mail becomes administrator again by linking.
    Raises FeatureClosed, or a RemovalLinkError (invalid, used or expired) after auditing it.
    Any failure leaves the link and the token as they were, so the contact can try again.
    """
    ensure_open(Feature.LINK_REMOVAL)
    try:
        with transaction.atomic():
            # The lock order of every removal: the account, then the link. Read once to learn
            # the account, then again locked (a parallel removal may have spent it meanwhile).
            lock_account(removal_links.notice_for_token(token).link.account)
            notice = removal_links.notice_for_token(token, for_update=True)
            _remove(
                notice.link,
                by=None,
                via=AccountLink.RemovedVia.CONTACT_LINK,
                ip=ip,
                contact_email=notice.email,
            )
            notice.used_at = timezone.now()
            notice.save(update_fields=["used_at"])
            notifications.queue_link_removed(notice.link)
    except RemovalLinkError as refused:
        _audit_refused_removal(refused, ip=ip)
        raise
    return notice


def remove_links_by_staff(*, actor: User, link_ids: Iterable[int], ip: str | None) -> int:
    """Support staff remove links from the admin; returns how many were active.

    Raises LastAdministrator (and removes none) when that would leave an account without an
    administrator holding VALIDATE on the whole of it.
    """
    ensure_open(Feature.LINK_REMOVAL)
    with transaction.atomic():
        removed = 0
        for link in lock_links(link_ids):
            keep_an_administrator(account=link.account, losing=link)
            _remove(link, by=actor, via=AccountLink.RemovedVia.STAFF, ip=ip)
            notifications.queue_link_removed(link)
            removed += 1
    return removed


def _locked_active_link(*, user: User, account: BusinessAccount) -> AccountLink:
    link = (
        AccountLink.objects.select_for_update()
        .filter(user=user, account=account, status=AccountLink.Status.ACTIVE)
        .first()
    )
    if link is None:
        raise LinkAlreadyRemoved()
    return link


def _remove(
    link: AccountLink,
    *,
    by: User | None,
    via: AccountLink.RemovedVia,
    ip: str | None,
    **details: str,
) -> None:
    link.mark_removed(by=by, via=via)
    audit.record(
        actor=by,
        account=link.account,
        event=Event.LINK_REMOVED,
        ip=ip,
        link_id=link.pk,
        user_email=link.user.email,
        via=via,
        **details,
    )


def _audit_refused_removal(refused: RemovalLinkError, *, ip: str | None) -> None:
    notice = refused.notice
    audit.record(
        actor=None,
        account=notice.link.account if notice else None,
        event=Event.REMOVAL_LINK_REFUSED,
        ip=ip,
        reason=type(refused).__name__,
        notice_id=notice.pk if notice else None,
    )


# --- suspicious activity -----------------------------------------------------------------------


def report_by_user(
    *, user: User, account: BusinessAccount, description: str, ip: str | None
) -> Investigation:
    """A linked user reports unauthorised orders or activity (the view checked their right)."""
    return _open_investigation(
        account=account,
        description=description,
        ip=ip,
        actor=user,
        reporter_user=user,
        reporter_name=user.get_full_name() or user.email,
        reporter_email=user.email,
    )


def report_by_contact(*, notice: LinkNotice, description: str, ip: str | None) -> Investigation:
    """A contact reports through the removal link of their e-mail (the view checked the token)."""
    return _open_investigation(
        account=notice.link.account,
        description=description,
        ip=ip,
        actor=None,
        reporter_notice=notice,
        reporter_name=notice.name,
        reporter_email=notice.email,
    )


def _open_investigation(
    *,
    account: BusinessAccount,
    description: str,
    ip: str | None,
    actor: User | None,
    **reporter: object,
) -> Investigation:
    group = selectors.investigation_routing(account=account).group
    with transaction.atomic():
        investigation = Investigation.objects.create(
            account=account, description=description, group=group, **reporter
        )
        audit.record(
            actor=actor,
            account=account,
            event=Event.SUSPICIOUS_ACTIVITY_REPORTED,
            ip=ip,
            investigation_id=investigation.pk,
            reference=investigation.reference,
            group=group,
            reporter_email=investigation.reporter_email,
        )
    return investigation


def save_investigation(
    *, actor: User, investigation: Investigation, changed: list[str], ip: str | None
) -> Investigation:
    """Staff work an investigation in the admin: status, assignee and notes, each change audited."""
    with transaction.atomic():
        investigation.save()
        audit.record(
            actor=actor,
            account=investigation.account,
            event=Event.INVESTIGATION_UPDATED,
            ip=ip,
            investigation_id=investigation.pk,
            changed=sorted(changed),
            status=investigation.status,
            assignee=investigation.assignee.email if investigation.assignee else None,
        )
    return investigation
