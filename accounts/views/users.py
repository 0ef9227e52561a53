"""An account administrator's "Users" pages: the list, "Add a user", change rights, remove.

Thin: each view asks accounts.rights and the gate, keeps the flow's state in a session draft
(accounts.drafts), and calls one service. Every page works without JavaScript.
"""

from typing import Any

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import actions, audit, drafts, rights, selectors, services, validation
from accounts.drafts import Draft
from accounts.exceptions import DelegationError
from accounts.forms import (
    WAY_COPY,
    WAY_CUSTOM,
    CustomRightsForm,
    DefaultRightForm,
    PersonDetailsForm,
    PickPersonForm,
    RightsWayForm,
)
from accounts.models import AccountLink, BusinessAccount, PreRegistration
from accounts.phones import for_display
from accounts.rights import Right
from accounts.rightsets import EDITABLE_PROFILES, RightSet
from accounts.views.linking import SignedInRequest
from outages.decorators import feature_required
from outages.features import Feature
from portal import fragments
from portal.second_factor import second_factor_confirmed

PAGE_SIZE = 50
gated = feature_required(Feature.DELEGATED_USERS)


# --- the list ----------------------------------------------------------------------------------


@login_required
@gated
@require_GET
def users(request: SignedInRequest, account_id: int) -> HttpResponse:
    account = rights.get_administered_account_or_404(request.user, account_id)
    lazy = fragments.lazy
    mine = lazy(lambda: rights.for_request(request).of(account))
    page = fragments.lazy_page(request, lambda: selectors.account_users(account=account), PAGE_SIZE)
    context = {
        "account": account,
        "fragment_key": fragments.for_account(request, account.pk),
        "page": page,
        "rows": lazy(lambda: _rows(account, page)),
        "may_prepare": lazy(lambda: mine.can(Right.MANAGE)),
        "may_validate": lazy(lambda: mine.can(Right.VALIDATE)),
        "pending": lazy(lambda: selectors.pending_requests(account=account).count()),
        "default_form": DefaultRightForm(initial={"level": account.default_right}),
    }
    return render(request, "accounts/users/list.html", context)


def _rows(account: BusinessAccount, page: Page) -> list[tuple[AccountLink, list[Any]]]:
    contracts = selectors.account_contracts(account=account)
    return [(link, RightSet.of_link(link).lines(contracts)) for link in page]


@login_required
@gated
@require_POST
@second_factor_confirmed
def default_right(request: SignedInRequest, account_id: int) -> HttpResponse:
    account = rights.get_administered_account_or_404(request.user, account_id, Right.VALIDATE)
    form = DefaultRightForm(request.POST)
    if form.is_valid():
        services.set_default_right(
            actor=request.user,
            account=account,
            level=Right(form.cleaned_data["level"]),
            ip=audit.ip_of(request),
        )
        messages.success(request, _("The rights of self-linked users were saved."))
    else:  # a tampered or stale page: say so rather than redirect in silence
        messages.error(request, _("Choose one of the rights offered; nothing was changed."))
    return redirect("accounts:users", account.pk)


# --- adding: the person ------------------------------------------------------------------------


def _account_for_changes(request: SignedInRequest, account_id: int) -> BusinessAccount:
    """An account the user administers holding at least MANAGE: enough to prepare changes."""
    return rights.get_administered_account_or_404(request.user, account_id, Right.MANAGE)


@login_required
@gated
@require_http_methods(["GET", "POST"])
def add_pick(request: SignedInRequest, account_id: int) -> HttpResponse:
    account = _account_for_changes(request, account_id)
    if not is_mfa_enabled(request.user):
        messages.warning(request, _("Set up two-factor authentication before adding users."))
        return redirect("mfa_index")
    people = selectors.unused_pre_registrations(account=account)
    form = PickPersonForm(_posted(request), people=people)
    if form.is_valid():
        person = form.cleaned_data["person"]
        draft = Draft(pre_registration=person.pk, email=person.email, language=person.language)
        drafts.save(request, account.pk, drafts.ADD, draft)
        return redirect("accounts:add_details", account.pk)
    context = {"account": account, "form": form, "has_people": people.exists(), "step": 1}
    return render(
        request, "accounts/users/add_pick.html", context, status=400 if form.errors else 200
    )


def _draft_person(
    request: SignedInRequest, account: BusinessAccount
) -> tuple[Draft, PreRegistration | None]:
    draft = drafts.load(request, account.pk, drafts.ADD)
    person = (
        selectors.unused_pre_registrations(account=account)
        .filter(pk=draft.pre_registration or 0)
        .first()
    )
    return draft, person


@login_required
@gated
@require_http_methods(["GET", "POST"])
def add_details(request: SignedInRequest, account_id: int) -> HttpResponse:
    account = _account_for_changes(request, account_id)
    draft, person = _draft_person(request, account)
    if person is None:
        return redirect("accounts:add_user", account.pk)
    initial = {"email": draft.email, "language": draft.language or person.language}
    form = PersonDetailsForm(_posted(request), initial=initial, person=person)
    if form.is_valid():
        draft.email = form.cleaned_data["email"]
        draft.language = form.cleaned_data["language"]
        drafts.save(request, account.pk, drafts.ADD, draft)
        return redirect("accounts:add_rights", account.pk)
    context = {
        "account": account,
        "person": person,
        "phone": for_display(person.mobile_phone),
        "form": form,
        "step": 2,
    }
    return render(
        request, "accounts/users/add_details.html", context, status=400 if form.errors else 200
    )


# --- rights: the same three ways for adding and for changing ------------------------------------


def _flow_target(
    request: SignedInRequest, account: BusinessAccount, link_id: int | None
) -> tuple[str, Draft, AccountLink | None, PreRegistration | None]:
    """The flow's draft and what it is about; Http404 for a link that is not another user's here."""
    flow = drafts.flow_for(link_id)
    draft = drafts.load(request, account.pk, flow)
    if link_id is None:
        return flow, draft, None, _draft_person(request, account)[1]
    link = selectors.account_user(account=account, link_id=link_id)
    if link is None or link.user_id == request.user.pk:
        raise Http404
    return flow, draft, link, None


def _steps(account: BusinessAccount, link: AccountLink | None) -> dict[str, str]:
    args = [account.pk] if link is None else [account.pk, link.pk]
    prefix = "accounts:add_" if link is None else "accounts:change_"
    return {step: reverse(f"{prefix}{step}", args=args) for step in ("rights", "custom", "review")}


@login_required
@gated
@require_http_methods(["GET", "POST"])
def rights_way(
    request: SignedInRequest, account_id: int, link_id: int | None = None
) -> HttpResponse:
    account = _account_for_changes(request, account_id)
    flow, draft, link, person = _flow_target(request, account, link_id)
    if link is None and (person is None or not draft.has_person):
        return redirect("accounts:add_user", account.pk)
    others = selectors.account_users(account=account).exclude(pk=link_id or 0)
    form = RightsWayForm(_posted(request), links=others)
    if form.is_valid():
        response = _apply_way(request, account, flow, draft, link, form)
        if response is not None:
            return response
    context = {"account": account, "form": form, "link": link, "person": person, "step": 3}
    return render(
        request, "accounts/users/rights_way.html", context, status=400 if form.errors else 200
    )


def _apply_way(
    request: SignedInRequest,
    account: BusinessAccount,
    flow: str,
    draft: Draft,
    link: AccountLink | None,
    form: RightsWayForm,
) -> HttpResponse | None:
    """Keep the choice in the draft and go on; None (with a form error) when it gives too much."""
    way = form.cleaned_data["way"]
    contracts = selectors.account_contracts(account=account)
    held = rights.for_request(request).of(account)
    steps = _steps(account, link)
    draft.way, draft.rights, draft.preset = way, None, None
    if way == WAY_CUSTOM or way in EDITABLE_PROFILES:
        if way in EDITABLE_PROFILES:
            preset = RightSet.from_profile(way, contracts).capped_by(held)
        else:
            preset = RightSet.of_link(link) if link else RightSet()
        draft.preset = preset.to_payload(normalise=False)
        drafts.save(request, account.pk, flow, draft)
        return redirect(steps["custom"])
    chosen = (
        RightSet.of_link(form.cleaned_data["copy_from"])
        if way == WAY_COPY
        else RightSet.from_profile(way, contracts).normalised()
    )
    if chosen.beyond(held):
        form.add_error(
            None, _("You can only give rights that you hold yourself on this account or contract.")
        )
        return None
    draft.rights = chosen.to_payload()
    drafts.save(request, account.pk, flow, draft)
    return redirect(steps["review"])


@login_required
@gated
@require_http_methods(["GET", "POST"])
def rights_custom(
    request: SignedInRequest, account_id: int, link_id: int | None = None
) -> HttpResponse:
    account = _account_for_changes(request, account_id)
    flow, draft, link, person = _flow_target(request, account, link_id)
    if not draft.way:
        return redirect(_steps(account, link)["rights"])
    form = CustomRightsForm(
        _posted(request),
        contracts=selectors.account_contracts(account=account),
        held=rights.for_request(request).of(account),
        preset=RightSet.from_payload(draft.preset or {}),
    )
    if form.is_valid():
        draft.rights = form.chosen().to_payload()
        drafts.save(request, account.pk, flow, draft)
        return redirect(_steps(account, link)["review"])
    context = {"account": account, "form": form, "link": link, "person": person, "step": 3}
    return render(
        request, "accounts/users/rights_custom.html", context, status=400 if form.errors else 200
    )


# --- review and confirmation ---------------------------------------------------------------------


@login_required
@gated
@require_http_methods(["GET", "POST"])
@second_factor_confirmed
def review(request: SignedInRequest, account_id: int, link_id: int | None = None) -> HttpResponse:
    account = _account_for_changes(request, account_id)
    flow, draft, link, person = _flow_target(request, account, link_id)
    if draft.rights is None or (link is None and (person is None or not draft.has_person)):
        return redirect(_steps(account, link)["rights"])
    chosen = RightSet.from_payload(draft.rights)
    existing = False
    if link is None and person is not None:
        kind = actions.ADD_USER
        draft.email = person.email or draft.email  # support may have corrected it meanwhile
        payload = actions.add_user_payload(
            person=person, email=draft.email, language=draft.language, chosen=chosen
        )
        # Said on the page, never done silently: the service decides the same way.
        existing = selectors.profile_with_confirmed_email(email=draft.email) is not None
    else:
        assert link is not None
        kind, payload = (
            actions.CHANGE_RIGHTS,
            actions.change_rights_payload(link=link, chosen=chosen),
        )
    if request.method == "POST":
        return _confirm(request, account, flow, kind, payload, existing=existing)
    return _render_review(
        request, account, link, person, draft, chosen, kind, payload, existing=existing
    )


def _render_review(
    request: SignedInRequest,
    account: BusinessAccount,
    link: AccountLink | None,
    person: PreRegistration | None,
    draft: Draft,
    chosen: RightSet,
    kind: str,
    payload: dict,
    *,
    existing: bool,
) -> HttpResponse:
    contracts = selectors.account_contracts(account=account)
    context = {
        "account": account,
        "link": link,
        "person": person,
        "draft": draft,
        "phone": for_display(person.mobile_phone) if person else "",
        "message_language": dict(settings.LANGUAGES).get(draft.language, ""),
        "existing_profile": existing,
        "rows": chosen.rows(contracts),
        "gives_validate": chosen.gives_validate,
        "previous_rows": RightSet.of_link(link).rows(contracts) if link else None,
        "queued": not rights.may_validate(
            request.user, validation.action_for(kind), account, payload
        ),
        "step": 4,
        "steps": _steps(account, link),
    }
    return render(request, "accounts/users/review.html", context)


def _confirm(
    request: SignedInRequest,
    account: BusinessAccount,
    flow: str,
    kind: str,
    payload: dict,
    *,
    existing: bool = False,
) -> HttpResponse:
    try:
        outcome = services.submit(
            actor=request.user, account=account, kind=kind, payload=payload, ip=audit.ip_of(request)
        )
    except DelegationError as refused:
        messages.error(request, refused.message)
        return redirect("accounts:users", account.pk)
    drafts.clear(request, account.pk, flow)
    rights.forget_for_request(request)
    messages.success(request, _done_message(kind, outcome.queued, existing=existing))
    return redirect("accounts:users", account.pk)


def _done_message(kind: str, queued: bool, *, existing: bool = False) -> str:
    if queued:
        return _("Your request was sent to the account's validators. You will be told by e-mail.")
    if kind == actions.ADD_USER and existing:
        return _(
            "The person already had a profile: they were given access to this account and "
            "told by e-mail."
        )
    if kind == actions.ADD_USER:
        return _(
            "The user was added. They receive their identifier by e-mail, confirm their "
            "address when they first sign in, and receive a temporary password by text message."
        )
    return _("The rights were changed; they apply at once. The user was told by e-mail.")


# --- removing ----------------------------------------------------------------------------------


@login_required
@gated
@require_http_methods(["GET", "POST"])
@second_factor_confirmed
def remove(request: SignedInRequest, account_id: int, link_id: int) -> HttpResponse:
    account = _account_for_changes(request, account_id)
    _flow, _draft, link, _person = _flow_target(request, account, link_id)
    assert link is not None
    payload = actions.remove_user_payload(link=link)
    if request.method == "POST":
        return _confirm(request, account, drafts.flow_for(link_id), actions.REMOVE_USER, payload)
    queued = not rights.may_validate(
        request.user, validation.action_for(actions.REMOVE_USER), account, payload
    )
    context = {"account": account, "link": link, "queued": queued}
    return render(request, "accounts/users/remove.html", context)


# --- the account's audit trail -----------------------------------------------------------------


@login_required
@feature_required(Feature.SIGN_IN)
@require_GET
def audit_trail(request: SignedInRequest, account_id: int) -> HttpResponse:
    account = rights.get_administered_account_or_404(request.user, account_id)
    page = fragments.lazy_page(request, lambda: selectors.audit_trail(account=account), PAGE_SIZE)
    context = {
        "account": account,
        "fragment_key": fragments.for_account(request, account.pk),
        "page": page,
    }
    return render(request, "accounts/audit_trail.html", context)


def _posted(request: SignedInRequest) -> Any:
    """The POST data, even empty (no box ticked is an answer), or None for a GET."""
    return request.POST if request.method == "POST" else None
