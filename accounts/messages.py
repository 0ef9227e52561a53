"""The delegated-users e-mails and text message, as kinds of the portal's outbox.

`register()` runs from AccountsConfig.ready(). Each kind's context builder turns a delivery's
plain facts into what its templates show; it runs after the claim, with the recipient's language
active (see portal.outbox.sending). The services queue them through accounts.services.messages.
"""

import datetime
import enum
import secrets
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts import validation
from accounts.models import BusinessAccount, User
from accounts.rightsets import fact_rows
from outages.features import Feature
from portal.formatting import format_moment
from portal.models import Delivery
from portal.outbox import MessageKind, Undeliverable, absolute_url, register_kind

# No look-alike characters (0/O, 1/l/I): the password is read on a phone and typed elsewhere.
_PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"  # noqa: S105


class Kind(enum.StrEnum):
    WELCOME = "accounts.welcome"
    ACCESS_GRANTED = "accounts.access_granted"
    RIGHTS_CHANGED = "accounts.rights_changed"
    USER_REMOVED = "accounts.user_removed"
    VALIDATION_REQUESTED = "accounts.validation_requested"
    VALIDATION_DECIDED = "accounts.validation_decided"
    TEMPORARY_PASSWORD = "accounts.temporary_password"  # noqa: S105  a kind, not a password


def register() -> None:
    for kind in (Kind.WELCOME, Kind.ACCESS_GRANTED, Kind.RIGHTS_CHANGED, Kind.USER_REMOVED):
        register_kind(_delegation_email(kind, feature=Feature.DELEGATED_USERS.value))
    for kind in (Kind.VALIDATION_REQUESTED, Kind.VALIDATION_DECIDED):
        register_kind(_delegation_email(kind, feature=request_feature))
    register_kind(
        MessageKind(
            name=Kind.TEMPORARY_PASSWORD,
            channel=Delivery.Channel.SMS,
            template_prefix="accounts/sms/temporary_password",
            context=temporary_password_context,
            feature=Feature.DELEGATED_USERS.value,
        )
    )


def _delegation_email(kind: Kind, *, feature: Any) -> MessageKind:
    what = kind.value.removeprefix("accounts.")
    return MessageKind(
        name=kind,
        channel=Delivery.Channel.EMAIL,
        template_prefix=f"accounts/email/delegation/{what}",
        context=email_context,
        feature=feature,
    )


def request_feature(delivery: Delivery) -> str:
    """A request's e-mail belongs to its action's feature (an invoice payment's to
    ONLINE_PAYMENT), so a delegated-users window does not hold it; DELEGATED_USERS otherwise."""
    facts = delivery.facts
    if facts.get("feature"):
        return str(facts["feature"])
    try:
        action = validation.action_for(facts.get("action", ""))
    except validation.UnknownAction:
        return Feature.DELEGATED_USERS.value
    return str(getattr(action, "feature", None) or Feature.DELEGATED_USERS.value)


def email_context(delivery: Delivery) -> dict[str, Any]:
    facts = dict(delivery.facts)
    account = (
        BusinessAccount.objects.filter(pk=delivery.account_id).first()
        if delivery.account_id
        else None
    )
    return {
        **facts,
        "account": account,
        "rights": fact_rows(facts.get("rights", [])),
        "sign_in_url": absolute_url(reverse("account_login")),
        "account_url": absolute_url(reverse("accounts:detail", args=[account.pk]))
        if account
        else "",
        "to_validate_url": absolute_url(reverse("accounts:to_validate", args=[account.pk]))
        if account
        else "",
        "action_label": _action_label(facts.get("action")),
        "help_desk_phone": settings.PORTAL_HELP_DESK_PHONE,
        "password_hours": settings.PORTAL_TEMPORARY_PASSWORD_HOURS,
    }


def _action_label(kind: str | None) -> object:
    """The registered action's label, lazy: it renders in the recipient's language."""
    if not kind:
        return ""
    try:
        return validation.action_for(kind).label
    except validation.UnknownAction:
        return kind


def temporary_password_context(delivery: Delivery) -> dict[str, Any]:
    """Make the temporary password and save its hash with its expiry: committed (by the outbox,
    before the text goes) so the password texted is the one that works.

    It never appears in a row, a task argument or a log. A try that fails before the provider
    takes the text leaves a hash nobody knows; the next try replaces it. Raises Undeliverable
    when the user is gone or chose a password meanwhile (texting one would replace theirs).
    """
    user = (
        User.objects.select_for_update().filter(pk=delivery.user_id).first()
        if delivery.user_id
        else None
    )
    if user is None:
        raise Undeliverable("The user no longer exists.")
    if user.has_usable_password() and not user.has_temporary_password():
        raise Undeliverable("The user already chose a password.")
    password = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(12))
    expires = timezone.now() + datetime.timedelta(hours=settings.PORTAL_TEMPORARY_PASSWORD_HOURS)
    user.set_password(password)
    user.temporary_password_expires_at = expires
    user.save(update_fields=["password", "temporary_password_expires_at"])
    # Never the identifier: it goes by e-mail, so one stolen channel does not give both.
    return {"password": password, "expires_at": format_moment(expires)}
