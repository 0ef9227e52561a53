"""What an account administrator does to the account's users, acting directly.

Each function needs an administrator holding VALIDATE on the whole account (confirming a user
opens access). A preparer with only MANAGE goes through accounts.services.requests instead,
whose approval calls these same functions with the validator as actor. Nobody gives rights they
do not hold themselves on the target.
"""

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber

from accounts import audit, rights
from accounts.exceptions import (
    ForeignContract,
    InvalidPersonDetails,
    NoRightChosen,
    NotAllowed,
    OwnAccess,
    PreRegistrationUnavailable,
    RightsBeyondYours,
    UserAlreadyLinked,
    UserNotLinked,
)
from accounts.models import (
    AccountLink,
    AuditEvent,
    BusinessAccount,
    Contract,
    EmailDelivery,
    Grant,
    PreRegistration,
    User,
)
from accounts.phones import mobile_number
from accounts.rights import Right
from accounts.rightsets import RightSet
from accounts.services.guards import keep_an_administrator, lock_account
from accounts.services.messages import queue_email, queue_temporary_password
from outages.features import Feature
from outages.gate import ensure_open

Event = AuditEvent.Event
Kind = EmailDelivery.Kind


# --- checks shared with the validation queue ---------------------------------------------------


def require_user_administrator(*, actor: User, account: BusinessAccount, level: Right) -> None:
    """Raise NotAllowed unless `actor` administers `account` with `level` on all of it."""
    if not (rights.is_administrator(actor, account) and rights.can(actor, level, account)):
        raise NotAllowed()


def check_rights(*, actor: User, account: BusinessAccount, chosen: RightSet) -> None:
    """Raise unless `chosen` is non-empty, on this account's contracts, and within the actor's."""
    if chosen.is_empty:
        raise NoRightChosen()
    contract_ids = chosen.contract_ids()
    if contract_ids and Contract.objects.filter(
        pk__in=contract_ids, account=account
    ).count() != len(contract_ids):
        raise ForeignContract()
    if chosen.beyond(rights.of_user(actor, account)):
        raise RightsBeyondYours()


def clean_person(*, email: str, phone: str) -> tuple[str, PhoneNumber]:
    """The e-mail (trimmed, lower-cased domain) and the E.164 mobile, or InvalidPersonDetails."""
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidPersonDetails() from None
    number = mobile_number(phone)
    if number is None:
        raise InvalidPersonDetails()
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}", number


def available_pre_registration(
    *, account: BusinessAccount, pre_registration_id: int, for_update: bool = False
) -> PreRegistration:
    found = PreRegistration.objects.filter(
        pk=pre_registration_id, account=account, used_at__isnull=True
    )
    pre_registration = (found.select_for_update() if for_update else found).first()
    if pre_registration is None:
        raise PreRegistrationUnavailable()
    return pre_registration


def check_new_user(
    *,
    actor: User,
    account: BusinessAccount,
    pre_registration_id: int,
    email: str,
    phone: str,
    chosen: RightSet,
) -> None:
    """Everything add_user refuses, checked before a request is queued."""
    available_pre_registration(account=account, pre_registration_id=pre_registration_id)
    clean_person(email=email, phone=phone)
    check_rights(actor=actor, account=account, chosen=chosen)


# --- adding ------------------------------------------------------------------------------------


def add_user(
    *,
    actor: User,
    account: BusinessAccount,
    pre_registration_id: int,
    email: str,
    phone: str,
    chosen: RightSet,
    ip: str | None,
) -> AccountLink:
    """Turn a pre-registered person into a user of `account` with `chosen` rights, at once.

    A new profile gets its identifier by e-mail and a temporary password by SMS; a person who
    already has a profile (same e-mail) is given access and told by e-mail. Raises
    FeatureClosed, NotAllowed, RightsBeyondYours, NoRightChosen, ForeignContract,
    InvalidPersonDetails, PreRegistrationUnavailable or UserAlreadyLinked.
    """
    ensure_open(Feature.DELEGATED_USERS)
    email, number = clean_person(email=email, phone=phone)
    try:
        with transaction.atomic():
            lock_account(account)
            require_user_administrator(actor=actor, account=account, level=Right.VALIDATE)
            check_rights(actor=actor, account=account, chosen=chosen)
            person = available_pre_registration(
                account=account, pre_registration_id=pre_registration_id, for_update=True
            )
            user, created = _user_for(person, email=email, language=actor.language)
            link = AccountLink.objects.create(
                user=user,
                account=account,
                method=AccountLink.Method.ADMINISTRATOR,
                created_by=actor,
            )
            _write_grants(link, chosen)
            person.used_at, person.user = timezone.now(), user
            person.save(update_fields=["used_at", "user"])
            audit.record(
                actor=actor,
                account=account,
                event=Event.USER_ADDED,
                ip=ip,
                link_id=link.pk,
                user_email=user.email,
                pre_registration_id=person.pk,
                new_profile=created,
                rights=chosen.to_payload(),
            )
            _tell_new_user(link, chosen=chosen, created=created, phone=number.as_e164)
    except IntegrityError:  # one active link per user and account: they act for it already
        raise UserAlreadyLinked() from None
    return link


def _user_for(person: PreRegistration, *, email: str, language: str) -> tuple[User, bool]:
    """The profile that signs in with `email`, made when there is none (no usable password yet:
    the SMS task sets the temporary one)."""
    address = EmailAddress.objects.filter(email__iexact=email).select_related("user").first()
    existing = address.user if address else User.objects.filter(email__iexact=email).first()
    if existing is not None:
        return existing, False
    user = User(
        username=email,
        email=email,
        first_name=person.first_name,
        last_name=person.last_name,
        language=language,
        must_enrol_second_factor=True,
    )
    user.set_unusable_password()
    user.save()
    # The administrator entered the address and the identifier is sent to it.
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user, True


def _tell_new_user(link: AccountLink, *, chosen: RightSet, created: bool, phone: str) -> None:
    contracts = list(link.account.contracts.all())
    facts = {"first_name": link.user.first_name, "rights": chosen.facts(contracts)}
    if created:
        queue_email(kind=Kind.WELCOME, to=link.user, account=link.account, **facts)
        queue_temporary_password(user=link.user, phone=phone)
    else:
        queue_email(kind=Kind.ACCESS_GRANTED, to=link.user, account=link.account, **facts)


def _write_grants(link: AccountLink, chosen: RightSet) -> None:
    link.grants.all().delete()
    Grant.objects.bulk_create(
        Grant(link=link, contract_id=target, level=level)
        for target, level in chosen.normalised().levels.items()
    )


# --- changing and removing ---------------------------------------------------------------------


def locked_user_link(*, actor: User, account: BusinessAccount, link_id: int) -> AccountLink:
    """The active link to act on, locked; never the actor's own (they would lock themselves out)."""
    link = (
        AccountLink.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(pk=link_id, account=account, status=AccountLink.Status.ACTIVE)
        .first()
    )
    if link is None:
        raise UserNotLinked()
    if link.user_id == actor.pk:
        raise OwnAccess()
    return link


def change_rights(
    *, actor: User, account: BusinessAccount, link_id: int, chosen: RightSet, ip: str | None
) -> AccountLink:
    """Replace a user's rights on `account` by `chosen`, at once; the user is told by e-mail.

    Raises FeatureClosed, NotAllowed, UserNotLinked, OwnAccess, RightsBeyondYours,
    NoRightChosen or ForeignContract.
    """
    ensure_open(Feature.DELEGATED_USERS)
    with transaction.atomic():
        lock_account(account)
        require_user_administrator(actor=actor, account=account, level=Right.VALIDATE)
        link = locked_user_link(actor=actor, account=account, link_id=link_id)
        check_rights(actor=actor, account=account, chosen=chosen)
        before = RightSet.of_link(link)
        _write_grants(link, chosen)
        audit.record(
            actor=actor,
            account=account,
            event=Event.RIGHTS_CHANGED,
            ip=ip,
            link_id=link.pk,
            user_email=link.user.email,
            before=before.to_payload(),
            after=chosen.to_payload(),
        )
        contracts = list(account.contracts.all())
        queue_email(
            kind=Kind.RIGHTS_CHANGED,
            to=link.user,
            account=account,
            first_name=link.user.first_name,
            rights=chosen.facts(contracts),
        )
    return link


def remove_user(
    *, actor: User, account: BusinessAccount, link_id: int, ip: str | None
) -> AccountLink:
    """Take away a user's access to `account`; they are told by e-mail.

    Raises FeatureClosed, NotAllowed, UserNotLinked, OwnAccess or LastAdministrator.
    """
    ensure_open(Feature.DELEGATED_USERS)
    with transaction.atomic():
        lock_account(account)
        require_user_administrator(actor=actor, account=account, level=Right.VALIDATE)
        link = locked_user_link(actor=actor, account=account, link_id=link_id)
        keep_an_administrator(account=account, losing=link)
        # Told below by its own e-mail, not by the link-removal one.
        link.mark_removed(by=actor, via=AccountLink.RemovedVia.ADMINISTRATOR, told=True)
        audit.record(
            actor=actor,
            account=account,
            event=Event.USER_REMOVED,
            ip=ip,
            link_id=link.pk,
            user_email=link.user.email,
        )
        queue_email(
            kind=Kind.USER_REMOVED, to=link.user, account=account, first_name=link.user.first_name
        )
    return link


def set_default_right(
    *, actor: User, account: BusinessAccount, level: Right, ip: str | None
) -> BusinessAccount:
    """Choose what users who link the account themselves receive on the whole account."""
    ensure_open(Feature.DELEGATED_USERS)
    with transaction.atomic():
        account = lock_account(account)
        require_user_administrator(actor=actor, account=account, level=Right.VALIDATE)
        before = account.default_right
        account.default_right = level
        account.save(update_fields=["default_right"])
        audit.record(
            actor=actor,
            account=account,
            event=Event.DEFAULT_RIGHT_CHANGED,
            ip=ip,
            before=before,
            after=int(level),
        )
    return account
