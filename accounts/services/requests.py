"""The validation queue: preparers (MANAGE) prepare, validators (VALIDATE) commit.

`submit` is what a page calls: it acts at once for a validator and queues a request for a
preparer. Approving a request runs the action's own service (the one `submit` runs directly)
with the validator as actor; a request whose target changed since it was prepared is refused.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts import audit, rights, selectors, validation
from accounts.exceptions import NotAllowed, OwnRequest, RequestNotPending, StaleRequest
from accounts.messages import Kind
from accounts.models import AuditEvent, BusinessAccount, Right, User, ValidationRequest
from accounts.services.messages import queue_email
from outages.gate import ensure_open

Event = AuditEvent.Event
State = ValidationRequest.State


@dataclass(frozen=True)
class Outcome:
    """Either the action was done (`result`) or a request waits for a validator (`request`)."""

    result: dict[str, Any] | None = None
    request: ValidationRequest | None = None

    @property
    def queued(self) -> bool:
        return self.request is not None


def submit(
    *, actor: User, account: BusinessAccount, kind: str, payload: dict[str, Any], ip: str | None
) -> Outcome:
    """Do `kind` now when `actor` may validate it, otherwise prepare a request for validators.

    Raises FeatureClosed (the action's feature is interrupted), NotAllowed (neither), or what
    the action's service raises.
    """
    action = validation.action_for(kind)
    ensure_open(action.feature)
    if rights.may_validate(actor, action, account, payload):
        return Outcome(result=action.perform(actor=actor, account=account, payload=payload, ip=ip))
    return Outcome(
        request=prepare_request(actor=actor, account=account, kind=kind, payload=payload, ip=ip)
    )


def prepare_request(
    *, actor: User, account: BusinessAccount, kind: str, payload: dict[str, Any], ip: str | None
) -> ValidationRequest:
    """Queue `kind` for the account's validators, who are told by e-mail.

    Raises FeatureClosed (the action's feature is interrupted), NotAllowed (no MANAGE on the
    target), or what the action's check raises: a request that could never be applied is not
    queued.
    """
    action = validation.action_for(kind)
    ensure_open(action.feature)
    if not rights.may_prepare(actor, action, account, payload):
        raise NotAllowed()
    action.check(actor=actor, account=account, payload=payload)
    with transaction.atomic():
        request = ValidationRequest.objects.create(
            account=account,
            kind=kind,
            payload=payload,
            fingerprint=action.fingerprint(account, payload),
            prepared_by=actor,
        )
        audit.record(
            actor=actor,
            account=account,
            event=Event.VALIDATION_REQUESTED,
            ip=ip,
            request_id=request.pk,
            kind=kind,
        )
        for validator in rights.validators_of(action, account, payload).exclude(pk=actor.pk):
            queue_email(
                kind=Kind.VALIDATION_REQUESTED,
                to=validator,
                account=account,
                about=f"request:{request.pk}",
                request_id=request.pk,
                action=kind,
                feature=str(action.feature),  # the outbox holds the e-mail while it is closed
                preparer=_name(actor),
            )
    return request


def approve_request(
    *, actor: User, account: BusinessAccount, request_id: int, ip: str | None
) -> ValidationRequest:
    """Run the request's action as `actor`; the preparer is told.

    Raises RequestNotPending, FeatureClosed (the action's feature), OwnRequest, NotAllowed,
    StaleRequest (the request is then kept as refused) or what the action's service raises (the
    request stays pending).
    """
    with transaction.atomic():
        request, action = _decidable(actor=actor, account=account, request_id=request_id)
        if action.fingerprint(account, request.payload) == request.fingerprint:
            request.result = action.perform(
                actor=actor, account=account, payload=request.payload, ip=ip
            )
            _decide(request, by=actor, state=State.APPROVED, ip=ip)
            return request
    _refuse_stale(account=account, request_id=request_id, by=actor, ip=ip)
    raise StaleRequest()


def reject_request(
    *, actor: User, account: BusinessAccount, request_id: int, reason: str, ip: str | None
) -> ValidationRequest:
    """Refuse the request with `reason`; the preparer is told. Raises like approve_request."""
    with transaction.atomic():
        request, _action = _decidable(actor=actor, account=account, request_id=request_id)
        _decide(request, by=actor, state=State.REJECTED, ip=ip, reason=reason)
    return request


def may_see(
    user: User, request: ValidationRequest, summary: rights.RightsSummary | None = None
) -> bool:
    """Whether `user` may read `request`, whose payload carries personal data (a newcomer's date
    of birth, e-mail and mobile): its preparer, and whoever may prepare or validate its action
    now. Nobody else learns it exists."""
    if request.prepared_by_id == user.pk:
        return True
    try:
        action = validation.action_for(request.kind)
    except validation.UnknownAction:  # no app says who may act on it any more
        return False
    return rights.may_prepare(user, action, request.account, request.payload, summary)


# A user with agreement grants only is shown at most this many pending requests: each one's
# target comes from its payload and is asked in memory (see pending_visible_to).
MOST_SCREENED = 500


def pending_visible_to(user: User, account: BusinessAccount, summary: rights.RightsSummary) -> Any:
    """The account's pending requests `user` may see (may_see), as rows to page: counting the
    others would tell how many requests they may not see.

    MANAGE on the whole account reaches every target of the account, so the kinds of action the
    user may prepare are the whole rule and the database pages the rows. With agreement grants
    only, each request's target comes from its payload and is asked in memory.
    """
    administrator = summary.is_administrator(account)
    kinds = [
        action.kind
        for action in validation.registered()
        if administrator or not action.administration
    ]
    rows = selectors.pending_requests_of(account=account, user=user, kinds=kinds)
    if summary.can(Right.MANAGE, account):
        return rows
    return visible_requests(user, account, rows[:MOST_SCREENED], summary)


def visible_requests(
    user: User,
    account: BusinessAccount,
    found: Iterable[ValidationRequest],
    summary: rights.RightsSummary,
) -> list[ValidationRequest]:
    """The requests of `found` (all of `account`) that `user` may see, asked in memory with
    their rights `summary`."""
    visible = []
    for request in found:
        request.account = account  # the same row: no query to read it again
        if may_see(user, request, summary):
            visible.append(request)
    return visible


def _decidable(
    *, actor: User, account: BusinessAccount, request_id: int
) -> tuple[ValidationRequest, validation.Action]:
    request = (
        ValidationRequest.objects.select_for_update(of=("self",))
        .select_related("prepared_by")
        .filter(pk=request_id, account=account)
        .first()
    )
    if request is None or not request.is_pending:
        raise RequestNotPending()
    request.account = account  # the same row: no query to read it again
    action = validation.action_for(request.kind)
    # Only now is the action known: its own feature, not delegated users, says whether the
    # queue may decide it (nothing is written yet, so refusing here rolls nothing back).
    ensure_open(action.feature)
    if request.prepared_by_id == actor.pk:
        raise OwnRequest()
    if not rights.may_validate(actor, action, account, request.payload):
        raise NotAllowed()
    return request, action


def _refuse_stale(*, account: BusinessAccount, request_id: int, by: User, ip: str | None) -> None:
    """Keep the refusal in its own transaction: the caller raises StaleRequest afterwards."""
    with transaction.atomic():
        request = (
            ValidationRequest.objects.select_for_update(of=("self",))
            .select_related("prepared_by")
            .filter(pk=request_id, account=account, state=State.PENDING)
            .first()
        )
        if request is not None:
            request.account = account
            _decide(request, by=by, state=State.STALE, ip=ip)


_EVENTS = {
    State.APPROVED: Event.VALIDATION_APPROVED,
    State.REJECTED: Event.VALIDATION_REJECTED,
    State.STALE: Event.VALIDATION_STALE,
}


def _decide(
    request: ValidationRequest, *, by: User, state: State, ip: str | None, reason: str = ""
) -> None:
    request.state, request.decided_by, request.decided_at = state, by, timezone.now()
    request.reason = reason
    request.save(update_fields=["state", "decided_by", "decided_at", "reason", "result"])
    audit.record(
        actor=by,
        account=request.account,
        event=_EVENTS[state],
        ip=ip,
        request_id=request.pk,
        kind=request.kind,
        reason=reason,
    )
    preparer = request.prepared_by
    if preparer is not None and preparer.is_active:
        queue_email(
            kind=Kind.VALIDATION_DECIDED,
            to=preparer,
            account=request.account,
            about=f"request:{request.pk}",
            request_id=request.pk,
            action=request.kind,
            feature=str(validation.action_for(request.kind).feature),
            state=state,
            reason=reason,
            decider=_name(by),
        )


def _name(user: User) -> str:
    return user.get_full_name() or user.email
