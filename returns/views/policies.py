"""Return policies of a business account: the table, a policy's page, the form that creates and
edits one, and activating, deactivating and deleting it.

CONSULT reads; MANAGE creates and edits, and prepares activations, deactivations and deletions
for the validators (the validation queue); VALIDATE does those at once. A policy paid by an
agreement is reached through a grant on that contract too (policies_for); another business's
account or policy, or a deleted policy, is a 404. Reading stays open during a maintenance
window of return policies; the buttons then say why they are disabled.
"""

import datetime
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Lower
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import audit, rights
from accounts.models import BusinessAccount, Contract, Right
from accounts.services.requests import submit
from billing.models import PaymentMethod
from billing.periods import last_valid_day
from billing.selectors import cards_expiring
from outages.decorators import feature_required
from outages.features import Feature
from portal import fragments
from portal.exceptions import PortalError
from returns import actions
from returns.forms import PolicyForm
from returns.models import ReturnLabel, ReturnPolicy
from returns.services.policies import (
    create_policy,
    paying_cards,
    paying_contracts,
    policies_for,
    update_policy,
)

PAGE_SIZE = 25
# ?sort= values and their ordering (a stable tie-break last); anything else is the default.
SORTS: dict[str, tuple[Any, ...]] = {
    "name": (Lower("name"), "pk"),
    "-name": (Lower("name").desc(), "-pk"),
    "status": ("status", Lower("name"), "pk"),
    "-status": ("-status", Lower("name"), "pk"),
    "created": ("created_at", "pk"),
    "-created": ("-created_at", "-pk"),
}
DEFAULT_SORT = "-created"


def _account(request: Any, account_id: int, level: Right = Right.CONSULT) -> BusinessAccount:
    # Reached through any grant: a contract-only user sees the policies paid by that contract.
    return rights.get_account_or_404(request.user, level, account_id)


def _policies(request: Any, account: BusinessAccount, level: Right = Right.CONSULT) -> QuerySet:  # type: ignore[type-arg]
    return policies_for(request.user, account, level).select_related("contract", "payment_method")


def _payment_usable(policy: ReturnPolicy) -> bool:
    """From the related rows already read (select_related): no query per policy."""
    contract: Contract | None = policy.contract
    card: PaymentMethod | None = policy.payment_method
    if contract is not None:
        return contract.status == Contract.Status.ACTIVE
    return card is not None and card.status == PaymentMethod.Status.ACTIVE


@dataclass(frozen=True)
class Row:
    """A policy and what the reader may do with it."""

    policy: ReturnPolicy
    may_manage: bool
    may_validate: bool
    payment_usable: bool


def _row(held: rights.AccountRights, policy: ReturnPolicy) -> Row:
    return Row(
        policy=policy,
        may_manage=held.can(Right.MANAGE, policy.contract_id),
        may_validate=held.can(Right.VALIDATE, policy.contract_id),
        payment_usable=_payment_usable(policy),
    )


def _may_create(held: rights.AccountRights) -> bool:
    """MANAGE on the whole account (cards, agreements) or on one of its contracts."""
    return held.can(Right.MANAGE) or any(level >= Right.MANAGE for level in held.contracts.values())


@dataclass(frozen=True)
class Expiring:
    card: PaymentMethod
    last_day: datetime.date
    policies: list[ReturnPolicy]


def _expiring(request: Any, account: BusinessAccount) -> list[Expiring]:
    """Beyond the help page: the active policies a card about to expire would suspend."""
    cards = cards_expiring(account, timezone.localdate(), settings.BILLING_EXPIRY_WARNING_DAYS)
    if not cards:
        return []
    found: dict[int, list[ReturnPolicy]] = {}
    active = policies_for(request.user, account).filter(
        status=ReturnPolicy.Status.ACTIVE, payment_method__in=cards
    )
    for policy in active.order_by(Lower("name"), "pk"):
        found.setdefault(policy.payment_method_id or 0, []).append(policy)
    return [
        Expiring(
            card=card,
            last_day=last_valid_day(card.exp_month or 12, card.exp_year or 1),
            policies=found[card.pk],
        )
        for card in cards
        if card.pk in found
    ]


# --- reading --------------------------------------------------------------------------------------


@login_required
@feature_required(Feature.RETURN_POLICIES)
@require_GET
def policy_list(request: Any, account_id: int) -> HttpResponse:
    account = _account(request, account_id)
    sort = request.GET.get("sort", DEFAULT_SORT)
    if sort not in SORTS:
        sort = DEFAULT_SORT
    page = fragments.lazy_page(
        request, lambda: _policies(request, account).order_by(*SORTS[sort]), PAGE_SIZE
    )
    lazy = fragments.lazy
    held = lazy(lambda: rights.for_request(request).of(account))
    context = {
        "account": account,
        # The day: a card's expiry warning starts on one.
        "fragment_key": fragments.for_account(request, account.pk, timezone.localdate()),
        "page": page,
        "rows": lazy(lambda: [_row(held, policy) for policy in page]),
        "sort": sort,
        "may_create": lazy(lambda: _may_create(held)),
        "expiring": lazy(lambda: _expiring(request, account)),
        "billing_phone": settings.PORTAL_CREDIT_MANAGEMENT_PHONE,
    }
    return render(request, "returns/policies/list.html", context)


@login_required
@feature_required(Feature.RETURN_POLICIES)
@require_GET
def policy_detail(request: Any, account_id: int, policy_id: int) -> HttpResponse:
    account = _account(request, account_id)
    policy = get_object_or_404(_policies(request, account), pk=policy_id)
    held = rights.for_request(request).of(account)
    counts = policy.labels.aggregate(
        issued=Count("pk"),
        dropped_off=Count("pk", filter=Q(accepted_at__isnull=False)),
        delivered=Count("pk", filter=Q(state=ReturnLabel.State.DELIVERED)),
    )
    direct_link = (
        request.build_absolute_uri(reverse("returns:direct_link", args=[policy.link_token]))
        if policy.offers_online
        else ""
    )
    context = {
        "account": account,
        "policy": policy,
        "row": _row(held, policy),
        "counts": counts,
        "direct_link": direct_link,
        "billing_phone": settings.PORTAL_CREDIT_MANAGEMENT_PHONE,
    }
    return render(request, "returns/policies/detail.html", context)


# --- creating and editing -------------------------------------------------------------------------


def _form(request: Any, account: BusinessAccount, **kwargs: Any) -> PolicyForm:
    """The form with what the user may pay with: the active agreements they manage, and the
    account's usable cards when they manage the whole account."""
    held = rights.for_request(request).of(account)
    contracts = [
        c for c in paying_contracts(account).order_by("number") if held.can(Right.MANAGE, c.pk)
    ]
    cards = (
        list(paying_cards(account).order_by("-is_default", "pk")) if held.can(Right.MANAGE) else []
    )
    return PolicyForm(
        request.POST if request.method == "POST" else None,
        contracts=contracts,
        cards=cards,
        **kwargs,
    )


def _form_page(
    request: Any, account: BusinessAccount, form: PolicyForm, policy: ReturnPolicy | None
) -> HttpResponse:
    context = {
        "account": account,
        "form": form,
        "policy": policy,
        "may_add_card": rights.for_request(request).of(account).can(Right.MANAGE),
    }
    return render(request, "returns/policies/form.html", context)


@login_required
@feature_required(Feature.RETURN_POLICIES, write=True)
@require_http_methods(["GET", "POST"])
def policy_create(request: Any, account_id: int) -> HttpResponse:
    account = _account(request, account_id, Right.MANAGE)
    form = _form(request, account)
    if request.method == "POST" and form.is_valid():
        try:
            policy = create_policy(
                actor=request.user,
                account=account,
                data=form.data_for_service(),
                ip=audit.ip_of(request),
            )
        except PortalError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _(
                    "The return policy %(reference)s was created. It is inactive: activate it "
                    "when you are ready for your customers to get labels."
                )
                % {"reference": policy.reference},
            )
            return redirect("returns:policy", account.pk, policy.pk)
    return _form_page(request, account, form, None)


@login_required
@feature_required(Feature.RETURN_POLICIES, write=True)
@require_http_methods(["GET", "POST"])
def policy_edit(request: Any, account_id: int, policy_id: int) -> HttpResponse:
    account = _account(request, account_id, Right.MANAGE)
    policy = get_object_or_404(_policies(request, account, Right.MANAGE), pk=policy_id)
    form = _form(request, account, initial=PolicyForm.initial_from(policy))
    if request.method == "POST" and form.is_valid():
        try:
            update_policy(
                actor=request.user,
                account=account,
                policy_id=policy.pk,
                data=form.data_for_service(),
                ip=audit.ip_of(request),
            )
        except PortalError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("The return policy %(reference)s was saved. Labels already issued keep theirs.")
                % {"reference": policy.reference},
            )
            return redirect("returns:policy", account.pk, policy.pk)
    return _form_page(request, account, form, policy)


# --- activating, deactivating, deleting -----------------------------------------------------------


def _back(request: Any, account: BusinessAccount, policy: ReturnPolicy) -> HttpResponse:
    """Where the button was: the table, or the policy's page."""
    if request.POST.get("back") == "list":
        return redirect("returns:policies", account.pk)
    return redirect("returns:policy", account.pk, policy.pk)


DONE = {
    actions.ACTIVATE: gettext_lazy(
        "The policy “%(name)s” (%(reference)s) is active: your customers can get labels."
    ),
    actions.DEACTIVATE: gettext_lazy(
        "The policy “%(name)s” (%(reference)s) is inactive. Labels already issued stay valid."
    ),
    actions.DELETE: gettext_lazy(
        "The policy “%(name)s” (%(reference)s) was deleted. Labels already issued stay valid."
    ),
}


def _submit(request: Any, account: BusinessAccount, policy: ReturnPolicy, kind: str) -> bool:
    """Act (VALIDATE) or prepare a request (MANAGE); say which. False when refused."""
    try:
        outcome = submit(
            actor=request.user,
            account=account,
            kind=kind,
            payload=actions.policy_payload(policy),
            ip=audit.ip_of(request),
        )
    except PortalError as error:
        messages.error(request, str(error))
        return False
    words = {"reference": policy.reference, "name": policy.name}
    if outcome.queued:
        messages.info(
            request,
            _(
                "Your request about the policy “%(name)s” (%(reference)s) was sent to the "
                "account's validators."
            )
            % words,
        )
    else:
        messages.success(request, str(DONE[kind]) % words)
    return True


@login_required
@feature_required(Feature.RETURN_POLICIES)
@require_POST
def policy_activate(request: Any, account_id: int, policy_id: int) -> HttpResponse:
    account = _account(request, account_id, Right.MANAGE)
    policy = get_object_or_404(_policies(request, account, Right.MANAGE), pk=policy_id)
    _submit(request, account, policy, actions.ACTIVATE)
    return _back(request, account, policy)


@login_required
@feature_required(Feature.RETURN_POLICIES)
@require_POST
def policy_deactivate(request: Any, account_id: int, policy_id: int) -> HttpResponse:
    account = _account(request, account_id, Right.MANAGE)
    policy = get_object_or_404(_policies(request, account, Right.MANAGE), pk=policy_id)
    _submit(request, account, policy, actions.DEACTIVATE)
    return _back(request, account, policy)


@login_required
@feature_required(Feature.RETURN_POLICIES)
@require_http_methods(["GET", "POST"])
def policy_delete(request: Any, account_id: int, policy_id: int) -> HttpResponse:
    """GET says what deleting means and asks to confirm; POST deletes (or prepares the request)."""
    account = _account(request, account_id, Right.MANAGE)
    policy = get_object_or_404(_policies(request, account, Right.MANAGE), pk=policy_id)
    held = rights.for_request(request).of(account)
    if request.method == "POST" and _submit(request, account, policy, actions.DELETE):
        return redirect("returns:policies", account.pk)
    context = {
        "account": account,
        "policy": policy,
        "queued": not held.can(Right.VALIDATE, policy.contract_id),
    }
    return render(request, "returns/policies/delete.html", context)
