""" "To validate": the requests preparers left for the account's validators, and their decision.

Approving asks for the second factor again and runs the same service as acting directly. A
request shows only to its preparer and to whoever may prepare or validate its action
(services.may_see): to anyone else it does not exist (404), its personal data with it.

Every app's actions share these pages, so no one feature closes them: they stay readable, and a
decision is refused (503, from the service's FeatureClosed) while its action's own feature is
interrupted; the page then shows its buttons disabled with the reason.
"""

from collections.abc import Callable
from typing import Any

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
from accounts.views.linking import SignedInRequest
from outages import gate
from portal import fragments
from portal.second_factor import second_factor_confirmed

View = Callable[..., HttpResponse]

# Pending requests shown a page at a time: the page stays the same size however many wait.
PENDING_PAGE_SIZE = 25


def gated_by_action(view: View) -> View:
    """Marks a queue page whose gate is each request's action's feature, asked by the service
    (and before the second factor, for approving), rather than one feature for the URL."""
    view.gated_by_action = True  # type: ignore[attr-defined]
    return view


def _account(request: SignedInRequest, account_id: int) -> BusinessAccount:
    # Preparers and validators both hold at least MANAGE somewhere on the account.
    return rights.get_account_or_404(request.user, Right.MANAGE, account_id)


@login_required
@gated_by_action
@require_GET
def to_validate(request: SignedInRequest, account_id: int) -> HttpResponse:
    account = _account(request, account_id)
    summary = rights.for_request(request)
    page = fragments.lazy_page(
        request,
        lambda: services.pending_visible_to(request.user, account, summary),
        PENDING_PAGE_SIZE,
    )
    # Asked again per row of the page (in memory): it also gives each row its account.
    pending = fragments.lazy(
        lambda: services.visible_requests(request.user, account, page.object_list, summary)
    )
    context = {
        "account": account,
        "fragment_key": fragments.for_account(request, account.pk),
        "page": page,
        "mine": fragments.lazy(lambda: [r for r in pending if r.prepared_by_id == request.user.pk]),
        "to_decide": fragments.lazy(
            lambda: [r for r in pending if rights.may_decide(request.user, r, summary)]
        ),
        "decided": fragments.lazy(
            lambda: services.visible_requests(
                request.user, account, selectors.recent_decisions(account=account), summary
            )
        ),
    }
    return render(request, "accounts/validations/list.html", context)


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
@gated_by_action
@require_GET
def request_detail(request: SignedInRequest, account_id: int, request_id: int) -> HttpResponse:
    account = _account(request, account_id)
    found = _request_or_404(request, account, request_id)
    context = _detail_context(request, account, found, RejectForm())
    return render(request, "accounts/validations/detail.html", context)


def _detail_context(
    request: SignedInRequest, account: BusinessAccount, found: ValidationRequest, form: RejectForm
) -> dict[str, Any]:
    action = validation.action_for(found.kind)
    return {
        "account": account,
        "found": found,
        "action": action,
        "payload": found.payload,
        "details": action.details(account, found.payload),
        "may_decide": rights.may_decide(request.user, found),
        # Deciding writes: a read-only interruption of the action's feature closes it too.
        "decision_closed": gate.closure_for(action.feature, write=True),
        "reject_form": form,
    }


@login_required
@gated_by_action
@require_POST
def approve(request: SignedInRequest, account_id: int, request_id: int) -> HttpResponse:
    account = _account(request, account_id)
    found = _request_or_404(request, account, request_id)
    # Before the second factor: nobody re-enters a code only to learn the feature is closed.
    gate.ensure_open(validation.action_for(found.kind).feature)
    return _approve(request, account, request_id)


@second_factor_confirmed
def _approve(request: SignedInRequest, account: BusinessAccount, request_id: int) -> HttpResponse:
    try:
        services.approve_request(
            actor=request.user, account=account, request_id=request_id, ip=audit.ip_of(request)
        )
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
@gated_by_action
@require_POST
def reject(request: SignedInRequest, account_id: int, request_id: int) -> HttpResponse:
    account = _account(request, account_id)
    found = _request_or_404(request, account, request_id)
    form = RejectForm(request.POST)
    if not form.is_valid():
        context = _detail_context(request, account, found, form)
        return render(request, "accounts/validations/detail.html", context, status=400)
    try:
        services.reject_request(
            actor=request.user,
            account=account,
            request_id=request_id,
            reason=form.cleaned_data["reason"],
            ip=audit.ip_of(request),
        )
    except DelegationError as refused:
        messages.error(request, refused.message)
        return redirect("accounts:request_detail", account.pk, request_id)
    messages.success(request, _("Rejected. Its preparer was told by e-mail, with your reason."))
    return redirect("accounts:to_validate", account.pk)
