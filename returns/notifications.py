"""The returns e-mails to the account's notification recipients ("Paramètres des avis"), and
their one-click unsubscribe.

- Per event: `queue_event_notices(event)` runs when a tracking event is applied and queues one
  e-mail per recipient who wants that kind of event one at a time. The outbox's dedupe key
  (event, recipient) makes it safe to run again: the same event applied twice, or a retried
  task, still sends one e-mail to each.
- Daily summary: `send_daily_summaries(now)` (a beat job, hourly) sends, once the Eastern hour
  reaches RETURNS_DIGEST_HOUR, each daily recipient a summary of the previous Eastern day's
  applied events of the kinds they chose (a label's first drop-off and delivery, every
  exception: what the per-event e-mails tell); nothing to report, no e-mail. One key per
  recipient and day, so every later run that day finds it queued.
- Unsubscribe: every e-mail carries a signed link (and the List-Unsubscribe headers, RFC 8058)
  naming only the recipient's id; following it stamps `unsubscribed_at`. The token needs no
  expiry: it can do nothing but stop e-mails to the address it was sent to, and the address of
  a recipient never changes (a new address is a new recipient).
"""

import datetime
import logging
from collections import Counter
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Count, F, Q
from django.urls import reverse

from portal import outbox
from portal.formatting import EASTERN, format_date, format_moment
from portal.models import Delivery
from portal.outbox import Undeliverable, absolute_url
from returns.messages import Kind
from returns.models import NotificationRecipient, TrackingEvent
from returns.services.recipients import events_of

logger = logging.getLogger(__name__)

SALT = "returns.unsubscribe.v1"
# The events a daily summary lists one by one; the counts cover them all.
SUMMARY_ROWS = 100
# Recipients handled per query in the daily run.
SUMMARY_BATCH = 500
NOTIFIED_KINDS = (
    TrackingEvent.Kind.ACCEPTED,
    TrackingEvent.Kind.EXCEPTION,
    TrackingEvent.Kind.DELIVERED,
)
Mode = NotificationRecipient.Mode


# --- unsubscribe tokens ----------------------------------------------------------------------


def unsubscribe_token(recipient: NotificationRecipient) -> str:
    """Signed with the site's secret and this purpose's salt: it cannot be guessed or forged,
    and carries nothing but the recipient's id."""
    return signing.dumps({"r": recipient.pk}, salt=SALT)


def unsubscribe_url(recipient: NotificationRecipient) -> str:
    return absolute_url(reverse("returns:unsubscribe", args=[unsubscribe_token(recipient)]))


def recipient_id_from(token: str) -> int | None:
    """The recipient id a genuine token names, or None for a tampered or malformed one."""
    try:
        return int(signing.loads(token, salt=SALT)["r"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


# --- queuing -----------------------------------------------------------------------------------


def event_key(event_id: int, recipient_id: int) -> str:
    return f"{Kind.EVENT}:{event_id}:{recipient_id}"


def summary_key(recipient_id: int, day: datetime.date) -> str:
    return f"{Kind.DAILY_SUMMARY}:{recipient_id}:{day.isoformat()}"


def _wanting(kind: str) -> Q:
    field = {"ACCEPTED": "on_accepted", "EXCEPTION": "on_exception", "DELIVERED": "on_delivered"}
    return Q(**{field[kind]: True}) if kind in field else Q(pk__in=[])


def queue_event_notices(event: TrackingEvent) -> int:
    """Queue the e-mail about `event` to each subscribed recipient of its account who wants this
    kind of event one e-mail at a time; returns how many recipients it concerns. Runs in the
    caller's transaction (the e-mails go after it commits); calling it again for the same event
    queues nothing more."""
    if event.kind not in NOTIFIED_KINDS:
        return 0
    recipients = list(
        NotificationRecipient.objects.filter(
            _wanting(event.kind),
            account_id=event.account_id,
            mode=Mode.EACH,
            unsubscribed_at__isnull=True,
        ).order_by("pk")
    )
    if not recipients:
        return 0
    label = event.label
    policy = label.policy
    facts = {
        "event": event.pk,
        "tracking_number": label.tracking_number,
        "kind": event.kind,
        "occurred_at": event.occurred_at.isoformat(),
        "place": event.place,
        "policy_name": policy.name,
        "policy_reference": policy.reference,
        "order_reference": label.order_reference,
    }
    for recipient in recipients:
        outbox.queue_email(
            kind=Kind.EVENT,
            to=recipient.email,
            language=recipient.language,
            account_id=event.account_id,
            facts={**facts, "recipient": recipient.pk},
            dedupe_key=event_key(event.pk, recipient.pk),
        )
    return len(recipients)


def _news() -> Q:
    """The events a person is told about: a label's first drop-off and its delivery (a second
    scan is no news, as for the per-event e-mails) and every exception."""
    return (
        Q(kind=TrackingEvent.Kind.ACCEPTED, occurred_at=F("label__accepted_at"))
        | Q(kind=TrackingEvent.Kind.DELIVERED, occurred_at=F("label__delivered_at"))
        | Q(kind=TrackingEvent.Kind.EXCEPTION)
    )


def summary_day(now: datetime.datetime) -> datetime.date | None:
    """The Eastern day whose summary is due at `now`: yesterday once the digest hour has come,
    None before it."""
    local = now.astimezone(EASTERN)
    if local.hour < settings.RETURNS_DIGEST_HOUR:
        return None
    return local.date() - datetime.timedelta(days=1)


def day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """The instants the Eastern `day` begins and ends (end excluded): 23 or 25 hours apart on
    the days the clocks change."""
    start = datetime.datetime.combine(day, datetime.time(), tzinfo=EASTERN)
    end = datetime.datetime.combine(
        day + datetime.timedelta(days=1), datetime.time(), tzinfo=EASTERN
    )
    return start, end


def send_daily_summaries(now: datetime.datetime) -> int:
    """Queue the previous Eastern day's summary to every subscribed daily recipient with
    something to report (events of the kinds they chose); returns how many were queued now.

    Before RETURNS_DIGEST_HOUR (Eastern) it does nothing; after it, a summary already queued for
    that recipient and day is left as it is, so the hourly job sends each one once.
    """
    day = summary_day(now)
    if day is None:
        return 0
    start, end = day_bounds(day)
    daily = (
        NotificationRecipient.objects.filter(mode=Mode.DAILY, unsubscribed_at__isnull=True)
        .filter(Q(on_accepted=True) | Q(on_exception=True) | Q(on_delivered=True))
        .order_by("pk")
    )
    queued = 0
    last_pk = 0
    while True:
        batch = list(daily.filter(pk__gt=last_pk)[:SUMMARY_BATCH])
        if not batch:
            return queued
        last_pk = batch[-1].pk
        queued += _queue_summaries(batch, day, start, end)


def _queue_summaries(
    recipients: list[NotificationRecipient],
    day: datetime.date,
    start: datetime.datetime,
    end: datetime.datetime,
) -> int:
    keys = {summary_key(recipient.pk, day): recipient for recipient in recipients}
    done = set(
        Delivery.objects.filter(dedupe_key__in=list(keys)).values_list("dedupe_key", flat=True)
    )
    waiting = [recipient for key, recipient in keys.items() if key not in done]
    if not waiting:
        return 0
    counts: Counter[tuple[int, str]] = Counter()
    rows = (
        TrackingEvent.objects.filter(
            _news(),
            account_id__in={recipient.account_id for recipient in waiting},
            kind__in=NOTIFIED_KINDS,
            occurred_at__gte=start,
            occurred_at__lt=end,
        )
        .values_list("account_id", "kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for account_id, kind, n in rows:
        counts[(account_id, kind)] = n
    queued = 0
    for recipient in waiting:
        chosen = {
            kind: counts[(recipient.account_id, kind)]
            for kind in events_of(recipient)
            if counts[(recipient.account_id, kind)]
        }
        if not chosen:
            continue  # nothing to report: no e-mail
        with transaction.atomic():
            outbox.queue_email(
                kind=Kind.DAILY_SUMMARY,
                to=recipient.email,
                language=recipient.language,
                account_id=recipient.account_id,
                facts={"recipient": recipient.pk, "day": day.isoformat(), "counts": chosen},
                dedupe_key=summary_key(recipient.pk, day),
            )
        queued += 1
    return queued


# --- the outbox's context builders and the headers ---------------------------------------------


def _recipient_of(delivery: Delivery) -> NotificationRecipient:
    """The subscribed recipient the row is for; Undeliverable when removed or unsubscribed since
    it was queued (nothing is sent to an address that asked to stop)."""
    recipient = (
        NotificationRecipient.objects.select_related("account")
        .filter(pk=delivery.facts.get("recipient", 0))
        .first()
    )
    if recipient is None:
        raise Undeliverable("The notification recipient was removed.")
    if recipient.unsubscribed_at is not None:
        raise Undeliverable("The notification recipient unsubscribed.")
    return recipient


def _common(recipient: NotificationRecipient) -> dict[str, Any]:
    account = recipient.account
    return {
        "recipient": recipient,
        "account": account,
        "unsubscribe_url": unsubscribe_url(recipient),
        "report_url": absolute_url(reverse("returns:report", args=[account.pk])),
        "settings_url": absolute_url(reverse("returns:notifications", args=[account.pk])),
        "help_desk_phone": settings.PORTAL_HELP_DESK_PHONE,
    }


def kind_words(kind: str) -> str:
    """The event as the recipient reads it (the language is active when this runs)."""
    return str(TrackingEvent.Kind(kind).label)


def event_email_context(delivery: Delivery) -> dict[str, Any]:
    """The e-mail about one event, from the row's facts (what was true when it was queued)."""
    recipient = _recipient_of(delivery)
    facts = delivery.facts
    occurred = datetime.datetime.fromisoformat(facts["occurred_at"])
    return {
        **facts,
        **_common(recipient),
        "kind_words": kind_words(facts["kind"]),
        "occurred": format_moment(occurred),
    }


def summary_email_context(delivery: Delivery) -> dict[str, Any]:
    """The summary of one Eastern day: the counts queued, and the first SUMMARY_ROWS events of
    the chosen kinds, read now."""
    recipient = _recipient_of(delivery)
    day = datetime.date.fromisoformat(delivery.facts["day"])
    counts: dict[str, int] = delivery.facts["counts"]
    start, end = day_bounds(day)
    events = list(
        TrackingEvent.objects.filter(
            _news(),
            account_id=recipient.account_id,
            kind__in=list(counts),
            occurred_at__gte=start,
            occurred_at__lt=end,
        )
        .select_related("label__policy")
        .order_by("occurred_at", "pk")[:SUMMARY_ROWS]
    )
    total = sum(counts.values())
    return {
        **_common(recipient),
        "day": format_date(day),
        "totals": [(kind_words(kind), counts[kind]) for kind in NOTIFIED_KINDS if kind in counts],
        "total": total,
        "rows": [
            {
                "when": format_moment(event.occurred_at, known_year=day.year),
                "kind_words": kind_words(event.kind),
                "tracking_number": event.label.tracking_number,
                "order_reference": event.label.order_reference,
                "policy_name": event.label.policy.name,
                "place": event.place,
            }
            for event in events
        ],
        "more": max(total - len(events), 0),
    }


def add_unsubscribe(
    delivery: Delivery, message: EmailMultiAlternatives, context: dict[str, Any]
) -> None:
    """RFC 2369 / RFC 8058: the one-click unsubscribe a mail client offers next to the sender."""
    message.extra_headers["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
    message.extra_headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
