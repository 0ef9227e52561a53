"""Sending the delegated-users e-mails and text messages, each at most once.

Each send locks its delivery row, checks it is still pending, sends and marks it in one
transaction: a retried or redelivered task finds the row sent and does nothing.
"""

import datetime
import secrets
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts import sms, validation
from accounts.models import DeliveryStatus, EmailDelivery, SmsDelivery
from accounts.notifications import absolute_url, render_message
from accounts.rightsets import fact_rows
from outages.formatting import format_moment

# No look-alike characters (0/O, 1/l/I): the password is read on a phone and typed elsewhere.
_PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"  # noqa: S105


def send_email_delivery(*, delivery_id: int) -> bool:
    """Send one delegated-users e-mail. True when sent now, False when nothing was left to do.

    Raises what the mail backend raises; the row then stays pending for the retry.
    """
    with transaction.atomic():
        delivery = (
            EmailDelivery.objects.select_for_update(of=("self",))
            .select_related("account", "user")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return False
        render_message(
            f"delegation/{delivery.kind}",
            to=delivery.email,
            language=delivery.language,
            context=_email_context(delivery),
            moments={},
        ).send()
        _mark_sent(delivery)
    return True


def _email_context(delivery: EmailDelivery) -> dict[str, Any]:
    facts = dict(delivery.context)
    account = delivery.account
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


def send_sms_delivery(*, delivery_id: int) -> bool:
    """Text a new user their temporary password. True when sent now.

    The password is made here, stored only as the user's password hash with its expiry, and
    texted, all in one transaction: if the text fails, the password is not kept and the retry
    makes another. It never appears in a task argument, a row or a log.
    """
    with transaction.atomic():
        delivery = (
            SmsDelivery.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return False
        user = delivery.user
        if user.has_usable_password() and not user.has_temporary_password():
            # They chose a password meanwhile (reset by e-mail): texting one would replace it.
            _give_up(delivery, "The user already chose a password.")
            return False
        password = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(12))
        expires = timezone.now() + datetime.timedelta(
            hours=settings.PORTAL_TEMPORARY_PASSWORD_HOURS
        )
        user.set_password(password)
        user.temporary_password_expires_at = expires
        user.save(update_fields=["password", "temporary_password_expires_at"])
        sms.send_text(to=delivery.phone.as_e164, body=_password_text(delivery, password, expires))
        _mark_sent(delivery)
    return True


def _password_text(delivery: SmsDelivery, password: str, expires: datetime.datetime) -> str:
    with translation.override(delivery.language):
        # Never the identifier: it goes by e-mail, so one stolen channel does not give both.
        context = {"password": password, "expires_at": format_moment(expires)}
        text = render_to_string("accounts/sms/temporary_password.txt", context)
    return " ".join(text.split())


def _mark_sent(delivery: EmailDelivery | SmsDelivery) -> None:
    delivery.status, delivery.sent_at = DeliveryStatus.SENT, timezone.now()
    delivery.attempts += 1
    delivery.save(update_fields=["status", "sent_at", "attempts"])


def _give_up(delivery: EmailDelivery | SmsDelivery, reason: str) -> None:
    delivery.status, delivery.last_error = DeliveryStatus.FAILED, reason
    delivery.save(update_fields=["status", "last_error"])


def record_failure(
    model: type[EmailDelivery] | type[SmsDelivery],
    *,
    delivery_id: int,
    error: BaseException,
    final: bool,
) -> None:
    """Keep why a send failed (never the message itself); after the last retry it is FAILED."""
    updates: dict[str, Any] = {
        "attempts": models.F("attempts") + 1,
        "last_error": f"{type(error).__name__}"[:300],
    }
    if final:
        updates["status"] = DeliveryStatus.FAILED
    model.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(**updates)
