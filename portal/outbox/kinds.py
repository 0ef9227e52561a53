"""The registry of message kinds: what each app's messages look like and when they may go.

Apps fill it from `AppConfig.ready()`:

    register_kind(MessageKind(name="accounts.welcome", channel=Delivery.Channel.EMAIL,
                              template_prefix="accounts/email/delegation/welcome",
                              context=welcome_context, feature="delegated_users"))
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.core.mail import EmailMultiAlternatives

    from portal.models import Delivery

ContextBuilder = Callable[["Delivery"], dict[str, Any]]
GroupContextBuilder = Callable[[list["Delivery"]], dict[int, dict[str, Any]]]
FeatureOf = Callable[["Delivery"], str | None]


def facts_only(delivery: "Delivery") -> dict[str, Any]:
    """The default context: the row's facts as they are."""
    return dict(delivery.facts)


@dataclass(frozen=True)
class MessageKind:
    """One kind of message.

    - `name`: namespaced, "<app>.<what>" (e.g. "accounts.welcome"); the row's `kind`.
    - `channel`: "email" or "sms" (`Delivery.Channel`).
    - `template_prefix`: e-mail → `<prefix>_subject.txt`, `<prefix>.txt`, `<prefix>.html`;
      SMS → `<prefix>.txt` (whitespace collapsed to one line).
    - `context`: builds the template context from the row. It runs after the claim, in the
      claim's transaction (committed with it before the message is sent; rolled back with it
      when the context or the rendering fails) and with the recipient's language active, so it
      may write (e.g. make a temporary password and save its hash) and format times in that
      language. Raise `portal.outbox.Undeliverable` to fail the row for good.
    - `contexts`: optional, the contexts of several rows of the kind claimed together, by the
      rows' pk, each as `context` would build it: one read and one write for all where `context`
      made them per row (a large fan-out's costliest step). It sets each row's language itself.
      When it raises, each row of the group goes through `context` on its own.
    - `feature`: the gate feature the message belongs to, or a callable(delivery) returning it
      (e.g. read from facts), or None. While it is closed the row waits until the closure ends
      (or the feature reopens), with no attempt counted.
    - `after_send`: optional callable(delivery) run after the row is marked SENT (e.g. stamp
      the app's own row, or clear a fact). Its errors are logged, never resent.
    - `finish_email`: optional callable(delivery, message, context) that completes a rendered
      e-mail before it goes: attachments drawn from the row's ids (a label's PDF), headers such
      as List-Unsubscribe. It runs in the recipient's language, like the context builder.
    """

    name: str
    channel: str
    template_prefix: str
    context: ContextBuilder = facts_only
    contexts: GroupContextBuilder | None = None
    feature: str | FeatureOf | None = None
    after_send: Callable[["Delivery"], None] | None = None
    finish_email: Callable[["Delivery", "EmailMultiAlternatives", dict[str, Any]], None] | None = (
        None
    )

    def feature_for(self, delivery: "Delivery") -> str | None:
        """The gate feature this delivery waits on, or None."""
        if callable(self.feature):
            return self.feature(delivery)
        return self.feature


class Undeliverable(Exception):
    """Raise it from a context builder or an SMS adapter when a message can never go (the
    recipient chose a password meanwhile, the number is refused): the row fails at once."""


class UnknownKind(LookupError):
    """No app registered a message kind of that name."""


_KINDS: dict[str, MessageKind] = {}


def register_kind(kind: MessageKind) -> MessageKind:
    """Add `kind` to the registry (from AppConfig.ready()); registering it again replaces it.

    Raises ValueError for a name that is not namespaced ("<app>.<what>") or a channel unknown.
    """
    app, _dot, what = kind.name.partition(".")
    if not app or not what:
        raise ValueError(f"message kind {kind.name!r} must be namespaced: '<app>.<what>'")
    if kind.channel not in ("email", "sms"):
        raise ValueError(f"message kind {kind.name!r}: unknown channel {kind.channel!r}")
    _KINDS[kind.name] = kind
    return kind


def kind_for(name: str) -> MessageKind:
    """The registered kind called `name`; raises UnknownKind."""
    try:
        return _KINDS[name]
    except KeyError:
        raise UnknownKind(name) from None


def registered_kinds() -> list[MessageKind]:
    """Every registered kind, by name (for the guard-rail tests and the admin's filter)."""
    return [_KINDS[name] for name in sorted(_KINDS)]
