""" "To validate": the requests preparers left for the account's validators, and their decision.

Approving asks for the second factor again and runs the same service as acting directly. A
request shows only to its preparer and to whoever may prepare or validate its action
(services.may_see): to anyone else it does not exist (404), its personal data with it.
"""

from collections.abc import Iterable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts import audit, rights, selectors, services, validation
from accounts.exceptions import DelegationError, StaleRequest
from accounts.forms import RejectForm
from accounts.models import BusinessAccount, ValidationRequest
from accounts.rights import Right
from accounts.second_factor import second_factor_confirmed
from accounts.views.linking import SignedInRequest
from outages.decorators import closed_response, feature_required
from outages.features import Feature
from outages.gate import FeatureClosed

gated = feature_required(Feature.DELEGATED_USERS)


def _account(request: SignedInRequest, account_id: int) -> BusinessAccount:
    # Preparers and validators both hold at least MANAGE somewhere on the account.
    return rights.get_account_or_404(request.user, Right.MANAGE, account_id)


@login_required
@gated
@require_GET
def to_validate(request: SignedInRequest, account_id: int) -> HttpResponse:
    account = _account(request, account_id)
    summary = rights.for_request(request)
    pending = _visible(request, account, selectors.pending_requests(account=account), summary)
    context = {
        "account": account,
        "mine": [r for r in pending if r.prepared_by_id == request.user.pk],
        "to_decide": [r for r in pending if services.may_decide(request.user, r, summary)],
        "decided": _visible(request, account, selectors.recent_decisions(account=account), summary),
    }
    return render(request, "accounts/validations/list.html", context)


def _visible(
    request: SignedInRequest,
    account: BusinessAccount,
    found: Iterable[ValidationRequest],
    summary: rights.RightsSummary,
) -> list[ValidationRequest]:
    """The requests of `found` the user may see, asked in memory with their rights `summary`."""
    visible = []
    for request_ in found:
        request_.account = account  # the same row: no query to read it again
        if services.may_see(request.user, request_, summary):
            visible.append(request_)
    return visible


def _request_or_404(
    request: SignedInRequest, account: BusinessAccount, request_id: int
) -> ValidationRequest:
    found = selectors.validation_request(account=account, request_id=request_id)
    if found is None:
        raise Http404
    found.account = account
    if not services.may_see(request.user, found, rights.for_request(request)):
        raise Http404  # the same answer as a request that does not exist
    return found


@login_required
@gated
@require_GET
def request_detail(request: SignedInRequest, account_id: int, request_id: int) -> HttpResponse:
    account = _account(request, account_id)
    found = _request_or_404(request, account, request_id)
    action = validation.action_for(found.kind)
    context = {
        "account": account,
        "found": found,
        "action": action,
        "payload": found.payload,
        "details": action.details(account, found.payload),
        "may_decide": services.may_decide(request.user, found),
        "reject_form": RejectForm(),
    }
    return render(request, "accounts/validations/detail.html", context)


@login_required
@gated
@require_POST
@second_factor_confirmed
def approve(request: SignedInRequest, account_id: int, request_id: int) -> HttpResponse:
    account = _account(request, account_id)
    _request_or_404(request, account, request_id)
    try:
        services.approve_request(
            actor=request.user, account=account, request_id=request_id, ip=audit.ip_of(request)
        )
    except FeatureClosed as closed:
        return closed_response(request, closed.closure)
    except StaleRequest as stale:
        messages.error(request, stale.message)
        return redirect("accounts:to_validate", account.pk)
    except DelegationError as refused:
        messages.error(request, refused.message)
        return redirect("accounts:request_detail", account.pk, request_id)
    rights.forget_for_request(request)
    messages.success(request, _("Approved: the change is made. Its preparer was told by e-mail."))
    return redirect("accounts:to_validate", account.pk)


@login_required
@gated
@require_POST
def reject(request: SignedInRequest, account_id: int, request_id: int) -> HttpResponse:
    account = _account(request, account_id)
    found = _request_or_404(request, account, request_id)
    form = RejectForm(request.POST)
    if not form.is_valid():
        action = validation.action_for(found.kind)
        context = {
            "account": account,
            "found": found,
            "action": action,
            "payload": found.payload,
            "details": action.details(account, found.payload),
            "may_decide": services.may_decide(request.user, found),
            "reject_form": form,
        }
        return render(request, "accounts/validations/detail.html", context, status=400)
    try:
        services.reject_request(
            actor=request.user,
            account=account,
            request_id=request_id,
            reason=form.cleaned_data["reason"],
            ip=audit.ip_of(request),
        )
    except FeatureClosed as closed:
        return closed_response(request, closed.closure)
    except DelegationError as refused:
        messages.error(request, refused.message)
        return redirect("accounts:request_detail", account.pk, request_id)
    messages.success(request, _("Rejected. Its preparer was told by e-mail, with your reason."))
    return redirect("accounts:to_validate", account.pk)
