"""The registry of actions that go through the validation queue.

An app registers each action that needs VALIDATE (add a user, change rights; later activate a
return policy, pay an invoice) once, from its AppConfig.ready():

    validation.register(Action(
        kind="returns.activate_policy",
        label=_("Activate a return policy"),
        feature=Feature.RETURN_POLICIES,         # its maintenance gate
        perform=activate_policy_from_request,    # the same service as acting directly
        fingerprint=policy_fingerprint,          # the target's state; a change makes it stale
        target=lambda account, payload: account,
        summary_template="returns/validation/activate_policy.html",
    ))

A user holding VALIDATE on the target acts directly; one holding only MANAGE prepares a request
(accounts.services.requests), which a validator approves or rejects. Preparing, approving and
rejecting ask the gate about the action's own `feature`, and so do the queue's pages and e-mails:
a maintenance window on delegated users does not hold up paying an invoice, and a closed online
payment stops one being queued.
"""

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.functional import Promise

from outages.features import Feature

if TYPE_CHECKING:
    from accounts.models import BusinessAccount, Contract, User

Payload = Mapping[str, Any]


class Perform(Protocol):
    """The service itself: checks the actor's rights again, writes its audit row, and returns
    a JSON-able result (kept on the request)."""

    def __call__(
        self, *, actor: "User", account: "BusinessAccount", payload: Payload, ip: str | None
    ) -> dict[str, Any]: ...


class Check(Protocol):
    """Raises what the service would refuse, so a request that could never be applied is not
    queued; returns nothing."""

    def __call__(self, *, actor: "User", account: "BusinessAccount", payload: Payload) -> None: ...


# The target's state now: a request whose target changed since it was prepared is stale.
Fingerprint = Callable[["BusinessAccount", Payload], str]
# What VALIDATE (and MANAGE, to prepare) is asked on: the account or one of its contracts.
Target = Callable[["BusinessAccount", Payload], "BusinessAccount | Contract"]
# Extra context for the summary template (names, contracts, ...).
Details = Callable[["BusinessAccount", Payload], dict[str, Any]]


def _the_account(account: "BusinessAccount", payload: Payload) -> "BusinessAccount | Contract":
    return account


def _nothing_to_check(*, actor: "User", account: "BusinessAccount", payload: Payload) -> None:
    return None


def _no_details(account: "BusinessAccount", payload: Payload) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Action:
    kind: str
    label: str | Promise
    # The gate feature its requests belong to: preparing, approving and rejecting are refused
    # (FeatureClosed) while it is interrupted, and its e-mails wait for it.
    feature: Feature
    perform: Perform
    fingerprint: Fingerprint
    check: Check = _nothing_to_check
    target: Target = _the_account
    # Account administration: only the account's administrators prepare and validate it.
    administration: bool = False
    # Renders the payload for people; receives `payload`, `account` and `details`.
    summary_template: str = ""
    details: Details = _no_details


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
