"""The e-mails of account linking, rendered in the recipient's language and sent at most once.

Each send locks its delivery record, checks it, sends and marks it in one transaction: a retried
or redelivered task finds the record already sent and does nothing.
"""

import datetime
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts import removal_links
from accounts.models import AccountLink, LinkNotice
from outages.formatting import format_moment


def send_link_notice(*, notice_id: int) -> bool:
    """Send one contact the news of a new link. True when sent now, False when nothing to do.

    Raises what the mail backend raises; the record then stays pending for the retry.
    """
    with transaction.atomic():
        notice = (
            LinkNotice.objects.select_for_update(of=("self",))
            .select_related("link__user", "link__account")
            .filter(pk=notice_id)
            .first()
        )
        if notice is None or notice.status != LinkNotice.Status.PENDING:
            return False
        now = timezone.now()
        _link_notice_message(notice, sent_at=now).send()
        notice.status, notice.sent_at = LinkNotice.Status.SENT, now
        notice.attempts += 1
        notice.save(update_fields=["status", "sent_at", "attempts"])
    return True


def record_notice_failure(*, notice_id: int, error: BaseException, final: bool) -> None:
    """Keep why a send failed; after the last retry the record is FAILED and never resent."""
    notice = LinkNotice.objects.filter(pk=notice_id, status=LinkNotice.Status.PENDING).first()
    if notice is None:
        return
    notice.attempts += 1
    notice.last_error = f"{type(error).__name__}: {error}"[:300]
    if final:
        notice.status = LinkNotice.Status.FAILED
    notice.save(update_fields=["attempts", "last_error", "status"])


def send_link_removed(*, link_id: int) -> bool:
    """Tell a user their link was removed by someone else. True when sent now."""
    with transaction.atomic():
        link = (
            AccountLink.objects.select_for_update(of=("self",))
            .select_related("user", "account")
            .filter(pk=link_id, status=AccountLink.Status.REMOVED)
            .first()
        )
        if link is None or link.removal_notified_at is not None:
            return False
        _link_removed_message(link).send()
        link.removal_notified_at = timezone.now()
        link.save(update_fields=["removal_notified_at"])
    return True


def _link_notice_message(
    notice: LinkNotice, *, sent_at: datetime.datetime
) -> EmailMultiAlternatives:
    link = notice.link
    context = {
        "notice": notice,
        "account": link.account,
        "linked_user_name": link.user.get_full_name() or link.user.email,
        "linked_user_email": link.user.email,
        "removal_url": removal_links.removal_url(notice),
        "valid_days": settings.PORTAL_REMOVAL_LINK_VALID_DAYS,
        "help_desk_phone": settings.PORTAL_HELP_DESK_PHONE,
    }
    expires = sent_at + datetime.timedelta(days=settings.PORTAL_REMOVAL_LINK_VALID_DAYS)
    return render_message(
        "link_notice",
        to=notice.email,
        language=notice.language,
        context=context,
        moments={"linked_at": link.created_at, "expires_at": expires},
    )


def _link_removed_message(link: AccountLink) -> EmailMultiAlternatives:
    context = {
        "link": link,
        "account": link.account,
        "user_name": link.user.get_full_name() or link.user.email,
        "by_contact": link.removed_via == AccountLink.RemovedVia.CONTACT_LINK,
        "link_url": absolute_url(reverse("accounts:link")),
        "help_desk_phone": settings.PORTAL_HELP_DESK_PHONE,
    }
    return render_message(
        "link_removed",
        to=link.user.email,
        language=link.user.language,
        context=context,
        moments={"removed_at": link.removed_at},
    )


def render_message(
    template: str,
    *,
    to: str,
    language: str,
    context: dict[str, Any],
    moments: dict[str, datetime.datetime | None],
) -> EmailMultiAlternatives:
    """Subject, text and HTML rendered with `language` active (times too: "(ET)" / "(HE)")."""
    with translation.override(language):
        context = {**context, **{k: format_moment(v) for k, v in moments.items() if v}}
        subject = render_to_string(f"accounts/email/{template}_subject.txt", context)
        message = EmailMultiAlternatives(
            subject=" ".join(subject.split()),
            body=render_to_string(f"accounts/email/{template}.txt", context),
            to=[to],
            headers={"Auto-Submitted": "auto-generated"},
        )
        message.attach_alternative(
            render_to_string(f"accounts/email/{template}.html", context), "text/html"
        )
    return message


def absolute_url(path: str) -> str:
    return f"{settings.PORTAL_BASE_URL.rstrip('/')}{path}"
