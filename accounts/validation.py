"""The registry of actions that go through the validation queue.

An app registers each action that needs VALIDATE (add a user, change rights; later activate a
return policy, pay an invoice) once, from its AppConfig.ready():

    validation.register(Action(
        kind="returns.activate_policy",
        label=_("Activate a return policy"),
        perform=activate_policy_from_request,    # the same service as acting directly
        fingerprint=policy_fingerprint,          # the target's state; a change makes it stale
        target=lambda account, payload: account,
        summary_template="returns/validation/activate_policy.html",
    ))

A user holding VALIDATE on the target acts directly; one holding only MANAGE prepares a request
(accounts.services.requests), which a validator approves or rejects.
"""

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.functional import Promise

if TYPE_CHECKING:
    from accounts.models import BusinessAccount, Contract

Payload = Mapping[str, Any]


def _the_account(account: "BusinessAccount", payload: Payload) -> "BusinessAccount | Contract":
    return account


@dataclass(frozen=True)
class Action:
    kind: str
    label: str | Promise
    # perform(*, actor, account, payload, ip) -> result (JSON-able): the service itself, which
    # checks the actor's rights again and writes its audit row.
    perform: Callable[..., dict[str, Any]]
    # fingerprint(account, payload) -> str: the target's state now.
    fingerprint: Callable[["BusinessAccount", Payload], str]
    # check(*, actor, account, payload): raises what the service would refuse, so a request
    # that could never be applied is not queued.
    check: Callable[..., None] = field(default=lambda **kwargs: None)
    # What VALIDATE (and MANAGE, to prepare) is asked on: the account or one of its contracts.
    target: Callable[["BusinessAccount", Payload], "BusinessAccount | Contract"] = _the_account
    # Account administration: only the account's administrators prepare and validate it.
    administration: bool = False
    # Renders the payload for people; receives `payload`, `account` and `details`.
    summary_template: str = ""
    # details(account, payload) -> extra context for the summary (names, contracts, ...).
    details: Callable[["BusinessAccount", Payload], dict[str, Any]] = field(
        default=lambda account, payload: {}
    )


_registry: dict[str, Action] = {}


class UnknownAction(LookupError):
    """A stored request names an action no app registers (any more)."""


def register(action: Action) -> Action:
    """Add `action`; registering the same kind twice is a programming error."""
    existing = _registry.get(action.kind)
    if existing is not None and existing != action:
        raise ValueError(f"A validation action named {action.kind!r} is already registered.")
    _registry[action.kind] = action
    return action


def action_for(kind: str) -> Action:
    try:
        return _registry[kind]
    except KeyError:
        raise UnknownAction(kind) from None


def registered() -> list[Action]:
    return list(_registry.values())


def fingerprint_of(*parts: Any) -> str:
    """A stable digest of a target's state (JSON of `parts`, keys sorted)."""
    text = json.dumps(parts, sort_keys=True, cls=DjangoJSONEncoder, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
