"""The portal's one outbox: every app's e-mails and text messages, each sent at most once.

Use (an app's service, inside its transaction):

    from portal.outbox import queue_email
    queue_email(kind="accounts.welcome", to=user.email, user=user, language=user.language,
                account_id=account.pk, facts={"rights": [...]},
                dedupe_key=f"accounts.welcome:{link.pk}")

- `portal.models.Delivery` is the one row per message: channel (email | sms), namespaced kind,
  address, optional user, language, optional account id, JSON facts (plain values, never a
  secret), status PENDING → SENDING → SENT, or FAILED / UNKNOWN, attempts, last error, next
  try, and a unique `dedupe_key`: the same message to the same person for the same reason
  exists once (queuing it again returns the existing row).
- Kinds: an app registers a `MessageKind` per message from its `AppConfig.ready()` with
  `register_kind`; `kind_for(name)` and `registered_kinds()` read the registry.
- `queue_email` / `queue_sms` create the row in the caller's transaction and enqueue it after
  commit: `portal.tasks.send_delivery` for a row alone, `send_deliveries` for the rows one
  transaction queued together, up to `queue.SEND_BATCH` per task (robust: with the broker down
  the caller's change stands and the sweeper `portal.tasks.sweep_outbox` hands the rows over
  later).
- Sending is CLAIM → SEND → MARK (see `portal.outbox.sending`): at most one message per row.
  A worker killed between the claim and the mark leaves the row SENDING; after
  PORTAL_OUTBOX_SENDING_TIMEOUT the sweeper marks it UNKNOWN for staff, who may "Send again"
  from the admin. Nothing is ever resent without a person deciding: a message may be lost
  (and then shows as UNKNOWN), never silently duplicated.
- Retries: every error is an attempt; permanent ones fail the row at once, others wait
  60 s x 2^(tries-1) (max 1 h), up to PORTAL_OUTBOX_MAX_ATTEMPTS tries. The sweeper enqueues
  due rows only, so a message has one chain of tries.
- The gate: while the kind's feature is closed the row waits for the closure's end (or an
  earlier reopening) without an attempt counted.
- `render_email` / `render_text` render `<template_prefix>…` in the recipient's language;
  `absolute_url(path)` makes the links in messages (settings.PORTAL_BASE_URL).
"""

from portal.outbox.kinds import (
    MessageKind,
    Undeliverable,
    UnknownKind,
    facts_only,
    kind_for,
    register_kind,
    registered_kinds,
)
from portal.outbox.queue import queue_email, queue_sms
from portal.outbox.render import absolute_url, render_email, render_text

__all__ = [
    "MessageKind",
    "Undeliverable",
    "UnknownKind",
    "absolute_url",
    "facts_only",
    "kind_for",
    "queue_email",
    "queue_sms",
    "register_kind",
    "registered_kinds",
    "render_email",
    "render_text",
]
