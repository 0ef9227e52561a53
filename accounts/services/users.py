"""What an account administrator does to the account's users, acting directly.

Each function needs an administrator holding VALIDATE on the whole account (confirming a user
opens access). A preparer with only MANAGE goes through accounts.services.requests instead,
whose approval calls these same functions with the validator as actor. Nobody gives rights they
do not hold themselves on the target.
"""

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from allauth.utils import generate_unique_username
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber

from accounts import audit, rights, selectors
from accounts.exceptions import (
    DefaultRightTooHigh,
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
from accounts.messages import Kind
from accounts.models import (
    AccountLink,
    AuditEvent,
    BusinessAccount,
    Contract,
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
from portal.fragments import account_scope, changed, user_scope

Event = AuditEvent.Event


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


@dataclass(frozen=True)
class NewPerson:
    """Who is added: where the identifier, the temporary password and their language go."""

    email: str
    phone: PhoneNumber
    language: str


def clean_person(*, person: PreRegistration, email: str = "", language: str = "") -> NewPerson:
    """The person as support recorded them, or InvalidPersonDetails.

    The mobile number is always the recorded one: the administrator cannot send the password
    elsewhere. So is the e-mail when support recorded one (`email` may only repeat it);
    otherwise the administrator's `email`. `language` corrects the recorded language.
    """
    recorded, typed = person.email.strip(), (email or "").strip()
    if recorded and typed and typed.lower() != recorded.lower():
        raise InvalidPersonDetails()
    number = mobile_number(person.mobile_phone)
    language = language or person.language
    if number is None or language not in dict(settings.LANGUAGES):
        raise InvalidPersonDetails()
    return NewPerson(email=_clean_email(recorded or typed), phone=number, language=language)


def _clean_email(email: str) -> str:
    """The address with its domain lower-cased, or InvalidPersonDetails."""
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidPersonDetails() from None
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


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
    email: str = "",
    language: str = "",
    chosen: RightSet,
) -> None:
    """Everything add_user refuses, checked before a request is queued."""
    person = available_pre_registration(account=account, pre_registration_id=pre_registration_id)
    clean_person(person=person, email=email, language=language)
    check_rights(actor=actor, account=account, chosen=chosen)


# --- adding ------------------------------------------------------------------------------------


def add_user(
    *,
    actor: User,
    account: BusinessAccount,
    pre_registration_id: int,
    email: str = "",
    language: str = "",
    chosen: RightSet,
    ip: str | None,
) -> AccountLink:
    """Turn a pre-registered person into a user of `account` with `chosen` rights, at once.

    The person is who support recorded (see clean_person: `email` only when support left it
    empty, `language` a correction). A new profile gets its identifier by e-mail, which it must
    confirm, and a temporary password by text to the recorded mobile; a person whose profile has
    this address confirmed is given access and told by e-mail. Raises FeatureClosed, NotAllowed,
    RightsBeyondYours, NoRightChosen, ForeignContract, InvalidPersonDetails,
    PreRegistrationUnavailable or UserAlreadyLinked.
    """
    ensure_open(Feature.DELEGATED_USERS)
    try:
        with transaction.atomic():
            lock_account(account)
            require_user_administrator(actor=actor, account=account, level=Right.VALIDATE)
            check_rights(actor=actor, account=account, chosen=chosen)
            person = available_pre_registration(
                account=account, pre_registration_id=pre_registration_id, for_update=True
            )
            new = clean_person(person=person, email=email, language=language)
            user, created = _user_for(person, new)
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
                language=user.language,
                rights=chosen.to_payload(),
            )
            _tell_new_user(link, chosen=chosen, created=created, phone=new.phone.as_e164)
    except IntegrityError:  # one active link per user and account: they act for it already
        raise UserAlreadyLinked() from None
    return link


def _user_for(person: PreRegistration, new: NewPerson) -> tuple[User, bool]:
    """The profile whose owner confirmed `new.email`, or a new one (no usable password yet: the
    SMS task sets the temporary one).

    Never a profile that merely lists the address unconfirmed: anyone can add any address to
    their own profile, and would then receive this person's access.
    """
    existing = selectors.profile_with_confirmed_email(email=new.email)
    if existing is not None:
        return existing, False
    user = User(
        username=_free_username(new.email),
        email=new.email,
        first_name=person.first_name,
        last_name=person.last_name,
        language=new.language,
        must_enrol_second_factor=True,
    )
    user.set_unusable_password()
    user.save()
    # Typed by support or an administrator, the address proves nothing until its owner follows
    # the link allauth e-mails at their first sign-in (ACCOUNT_EMAIL_VERIFICATION = "mandatory"):
    # until then it cannot sign in, and it does not count as a PRIMARY contact's.
    EmailAddress.objects.create(user=user, email=new.email, verified=False, primary=True)
    return user, True


def _free_username(email: str) -> str:
    """The address itself, unless an unconfirmed profile made for it earlier holds that name."""
    if not User.objects.filter(username__iexact=email).exists():
        return email
    return generate_unique_username([email, "user"])


def _tell_new_user(link: AccountLink, *, chosen: RightSet, created: bool, phone: str) -> None:
    contracts = list(link.account.contracts.all())
    facts = {"first_name": link.user.first_name, "rights": chosen.facts(contracts)}
    about = f"link:{link.pk}"  # a new link each time a person is added
    if created:
        queue_email(kind=Kind.WELCOME, to=link.user, account=link.account, about=about, **facts)
        queue_temporary_password(user=link.user, phone=phone, account=link.account, about=about)
    else:
        queue_email(
            kind=Kind.ACCESS_GRANTED, to=link.user, account=link.account, about=about, **facts
        )


def _write_grants(link: AccountLink, chosen: RightSet) -> None:
    link.grants.all().delete()
    Grant.objects.bulk_create(
        Grant(link=link, contract_id=target, level=level)
        for target, level in chosen.normalised().levels.items()
    )
    changed(account_scope(link.account_id), user_scope(link.user_id))  # bulk: no signal


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
    NoRightChosen, ForeignContract or LastAdministrator.
    """
    ensure_open(Feature.DELEGATED_USERS)
    with transaction.atomic():
        lock_account(account)
        require_user_administrator(actor=actor, account=account, level=Right.VALIDATE)
        link = locked_user_link(actor=actor, account=account, link_id=link_id)
        check_rights(actor=actor, account=account, chosen=chosen)
        keep_an_administrator(
            account=account,
            losing=link,
            still_validates=(chosen.level_on(None) or 0) >= Right.VALIDATE,
        )
        before = RightSet.of_link(link)
        _write_grants(link, chosen)
        event = audit.record(
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
            about=f"event:{event.pk}",  # rights change many times: each change is told
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
        link.mark_removed(by=actor, via=AccountLink.RemovedVia.ADMINISTRATOR)
        audit.record(
            actor=actor,
            account=account,
            event=Event.USER_REMOVED,
            ip=ip,
            link_id=link.pk,
            user_email=link.user.email,
        )
        queue_email(
            kind=Kind.USER_REMOVED,
            to=link.user,
            account=account,
            about=f"link:{link.pk}",  # a link is removed once
            first_name=link.user.first_name,
        )
    return link


def set_default_right(
    *, actor: User, account: BusinessAccount, level: Right, ip: str | None
) -> BusinessAccount:
    """Choose what users who link the account themselves receive on the whole account.

    Raises FeatureClosed, NotAllowed, or DefaultRightTooHigh above rights.HIGHEST_DEFAULT_RIGHT
    (anyone who knows the account's numbers can link it).
    """
    ensure_open(Feature.DELEGATED_USERS)
    with transaction.atomic():
        account = lock_account(account)
        require_user_administrator(actor=actor, account=account, level=Right.VALIDATE)
        if level > rights.HIGHEST_DEFAULT_RIGHT:
            raise DefaultRightTooHigh()
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
