"""The single-use removal link in a link notice: a signed token bound to one LinkNotice row.

The token carries only ids (no e-mail address ends up in logs); the row decides the rest:
it must be the one the token names, for the same link, sent, not used, and sent no more than
PORTAL_REMOVAL_LINK_VALID_DAYS ago. Expiry counts from sending (`sent_at`, stamped by the outbox's
context step of the e-mail, accounts.notifications), not from signing.
"""

import datetime

from django.conf import settings
from django.core import signing
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.exceptions import RemovalLinkExpired, RemovalLinkInvalid, RemovalLinkUsed
from accounts.models import AccountLink, LinkNotice
from portal.outbox import absolute_url

SALT = "accounts.link-removal.v1"


def make_token(notice: LinkNotice) -> str:
    return signing.dumps({"n": notice.pk, "l": notice.link_id}, salt=SALT)


def removal_url(notice: LinkNotice) -> str:
    """The absolute URL the e-mail carries (tasks have no request to build it from)."""
    return absolute_url(reverse("accounts:removal", args=[make_token(notice)]))


def expires_at(notice: LinkNotice) -> datetime.datetime | None:
    """When the notice's removal link stops working; None while it was never sent."""
    return None if notice.sent_at is None else expiry_after(notice.sent_at)


def expiry_after(sent_at: datetime.datetime) -> datetime.datetime:
    """The removal link of an e-mail sent at `sent_at` works until this moment, included."""
    return sent_at + datetime.timedelta(days=settings.PORTAL_REMOVAL_LINK_VALID_DAYS)


def notice_for_token(token: str, *, for_update: bool = False, spent_ok: bool = False) -> LinkNotice:
    """The delivery row a genuine, unexpired token names.

    Raises RemovalLinkInvalid (tampered, unknown, never sent), RemovalLinkUsed (already used
    or the user already removed; not raised with `spent_ok`, which reporting uses) or
    RemovalLinkExpired. `for_update` locks the row and its link (call inside a transaction).
    """
    ids = _ids_from(token)
    notice = _notices(for_update).filter(pk=ids[0], link_id=ids[1]).first()
    if notice is None or notice.sent_at is None:
        raise RemovalLinkInvalid()
    if not spent_ok and (
        notice.used_at is not None or notice.link.status != AccountLink.Status.ACTIVE
    ):
        raise RemovalLinkUsed(notice)
    if timezone.now() > expires_at(notice):  # type: ignore[operator]  # sent_at checked above
        raise RemovalLinkExpired(notice)
    return notice


def _ids_from(token: str) -> tuple[int, int]:
    try:
        payload = signing.loads(token, salt=SALT)
        return int(payload["n"]), int(payload["l"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise RemovalLinkInvalid() from None


def _notices(for_update: bool) -> QuerySet[LinkNotice]:
    notices = LinkNotice.objects.select_related("link__user", "link__account")
    # Lock the delivery row and its link only, not the user and account rows joined in.
    return notices.select_for_update(of=("self", "link")) if for_update else notices
