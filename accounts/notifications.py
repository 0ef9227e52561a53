"""The e-mails of account linking, sent through the portal's outbox (portal.outbox).

- "accounts.link_notice": one per LinkNotice (a contact told of a new link), gated on
  ACCOUNT_LINKING. Its context step stamps `LinkNotice.sent_at` just before the message goes to
  the provider, so the expiry the e-mail states and the one the removal token obeys are the same
  moment (sent_at + PORTAL_REMOVAL_LINK_VALID_DAYS). A retry stamps it again: the message that
  finally goes out states the validity the token then has.
- "accounts.link_removed": one per link removed by a contact's link or by support staff, to the
  removed user, gated on LINK_REMOVAL.

The outbox keeps the sending state (pending, sent, failed, attempts, last error) and sends each
message at most once (its dedupe key: one per notice, one per link).
"""

import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from accounts import removal_links
from accounts.models import AccountLink, LinkNotice
from outages.features import Feature
from portal.formatting import format_moment
from portal.models import Delivery
from portal.outbox import MessageKind, Undeliverable, absolute_url, queue_email, register_kind

LINK_NOTICE = "accounts.link_notice"
LINK_REMOVED = "accounts.link_removed"


def queue_link_notice(notice: LinkNotice) -> Delivery:
    """The e-mail telling `notice`'s contact of its new link; call it in the linking transaction."""
    return queue_email(
        kind=LINK_NOTICE,
        to=notice.email,
        language=notice.language,
        account_id=notice.link.account_id,
        facts={"notice_id": notice.pk},
        dedupe_key=f"{LINK_NOTICE}:{notice.pk}",
    )


def queue_link_removed(link: AccountLink) -> Delivery:
    """The e-mail telling a user that a contact or support staff removed `link`; call it in the
    removal transaction."""
    return queue_email(
        kind=LINK_REMOVED,
        to=link.user.email,
        user=link.user,
        language=link.user.language,
        account_id=link.account_id,
        facts={"link_id": link.pk},
        dedupe_key=f"{LINK_REMOVED}:{link.pk}",
    )


# What the e-mail shows of the notice, its link, user and account: one short join per e-mail
# (every column of the four tables cost the fan-out more than the rest of the query).
_NOTICE_FIELDS = (
    "name",
    "link__created_at",
    "link__user__first_name",
    "link__user__last_name",
    "link__user__email",
    "link__account__legal_name",
    "link__account__customer_number",
)


def link_notice_context(delivery: Delivery) -> dict[str, Any]:
    """Stamp the notice sent now and build its e-mail (see link_notice_contexts)."""
    return link_notice_contexts([delivery])[delivery.pk]


def link_notice_contexts(deliveries: list[Delivery]) -> dict[int, dict[str, Any]]:
    """Stamp the notices sent now and build their e-mails, each in its contact's language, with
    one read and one write for all (the outbox runs this in a transaction committed before
    sending).

    Raises Undeliverable when a notice is gone (its link was deleted).
    """
    wanted = [delivery.facts.get("notice_id") for delivery in deliveries]
    notices = (
        LinkNotice.objects.select_related("link__user", "link__account")
        .only(*_NOTICE_FIELDS)
        .in_bulk(wanted)
    )
    if any(pk not in notices for pk in wanted):
        raise Undeliverable("The link notice no longer exists.")
    sent_at = timezone.now()
    LinkNotice.objects.filter(pk__in=list(notices)).update(sent_at=sent_at)
    contexts = {}
    for delivery in deliveries:
        with translation.override(delivery.language):
            contexts[delivery.pk] = _link_notice_context(
                notices[delivery.facts["notice_id"]], sent_at
            )
    return contexts


def _link_notice_context(notice: LinkNotice, sent_at: datetime.datetime) -> dict[str, Any]:
    link = notice.link
    return {
        "notice": notice,
        "account": link.account,
        "linked_user_name": link.user.get_full_name() or link.user.email,
        "linked_user_email": link.user.email,
        "linked_at": format_moment(link.created_at),
        "removal_url": removal_links.removal_url(notice),
        "valid_days": settings.PORTAL_REMOVAL_LINK_VALID_DAYS,
        "expires_at": format_moment(removal_links.expiry_after(sent_at)),
        "help_desk_phone": settings.PORTAL_HELP_DESK_PHONE,
    }


def link_removed_context(delivery: Delivery) -> dict[str, Any]:
    """The removed user's e-mail. Raises Undeliverable when the link is not removed."""
    link = (
        AccountLink.objects.select_related("user", "account")
        .filter(pk=delivery.facts.get("link_id"), status=AccountLink.Status.REMOVED)
        .first()
    )
    if link is None:
        raise Undeliverable("The link does not exist or is not removed.")
    return {
        "link": link,
        "account": link.account,
        "user_name": link.user.get_full_name() or link.user.email,
        "by_contact": link.removed_via == AccountLink.RemovedVia.CONTACT_LINK,
        "removed_at": format_moment(link.removed_at) if link.removed_at else "",
        "link_url": absolute_url(reverse("accounts:link")),
        "help_desk_phone": settings.PORTAL_HELP_DESK_PHONE,
    }


def register() -> None:
    """From AccountsConfig.ready(): the linking e-mails join the outbox's kinds."""
    register_kind(
        MessageKind(
            name=LINK_NOTICE,
            channel=Delivery.Channel.EMAIL,
            template_prefix="accounts/email/link_notice",
            context=link_notice_context,
            contexts=link_notice_contexts,
            feature=Feature.ACCOUNT_LINKING,
        )
    )
    register_kind(
        MessageKind(
            name=LINK_REMOVED,
            channel=Delivery.Channel.EMAIL,
            template_prefix="accounts/email/link_removed",
            context=link_removed_context,
            feature=Feature.LINK_REMOVAL,
        )
    )
