"""Pages of account linking. Thin: parse, ask rights and the gate, call one service, render."""

import datetime
import logging
from typing import Any

from allauth.core.exceptions import ReauthenticationRequired
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts import audit, removal_links, rights, sections, selectors, services
from accounts.exceptions import (
    AlreadyLinked,
    LastAdministrator,
    LinkAlreadyRemoved,
    LinkLockedOut,
    LinkNeedsSecondFactor,
    LinkRefused,
    RemovalLinkError,
    RemovalLinkExpired,
    RemovalLinkInvalid,
)
from accounts.forms import LinkAccountForm, SuspiciousActivityForm
from accounts.models import BusinessAccount, Investigation, LinkNotice, User
from accounts.rights import Right
from accounts.rightsets import RightSet
from outages.decorators import feature_required
from outages.features import Feature
from outages.gate import FeatureClosed, closure_for
from portal import fragments, second_factor, session_keys, throttle
from portal.second_factor import second_factor_confirmed

logger = logging.getLogger(__name__)


class SignedInRequest(HttpRequest):
    """What login_required guarantees: the user is a signed-in portal User."""

    user: User


# --- the signed-in user's pages ----------------------------------------------------------------


@login_required
@feature_required(Feature.ACCOUNT_LINKING, write=True)
@require_http_methods(["GET", "POST"])
def link_account(request: SignedInRequest) -> HttpResponse:
    ip = audit.ip_of(request)
    until = throttle.locked_until(throttle.link_keys(user_id=request.user.pk, ip=ip))
    if until is not None:
        return _locked_out(request, until)
    form = LinkAccountForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        return _attempt_link(request, form, ip)
    status = 400 if form.is_bound else 200
    return render(request, "accounts/link_form.html", {"form": form}, status=status)


def _attempt_link(request: SignedInRequest, form: LinkAccountForm, ip: str | None) -> HttpResponse:
    try:
        link = services.link_account(
            user=request.user,
            ip=ip,
            second_factor_confirmed=second_factor.confirmed_recently(request),
            **form.cleaned_data,
        )
    except LinkLockedOut as locked:
        return _locked_out(request, locked.until)
    except LinkNeedsSecondFactor as needed:
        return _needs_second_factor(request, needed)
    except AlreadyLinked as already:
        messages.info(request, already.message)
        return redirect("accounts:detail", already.account.pk)
    except LinkRefused as refused:
        form.add_error(None, refused.message)
        return render(request, "accounts/link_form.html", {"form": form}, status=400)
    session_keys.rotate(request)  # the session now reaches the account: a new key
    messages.success(
        request,
        _("%(account)s is now linked to your profile. Its contacts were told by e-mail.")
        % {"account": link.account.legal_name},
    )
    return redirect("accounts:detail", link.account_id)


def _locked_out(request: HttpRequest, until: datetime.datetime) -> HttpResponse:
    response = render(request, "accounts/locked_out.html", {"until": until}, status=429)
    response["Retry-After"] = str(max(1, int((until - timezone.now()).total_seconds())))
    return response


def _needs_second_factor(request: SignedInRequest, needed: LinkNeedsSecondFactor) -> HttpResponse:
    """The customer number is under attack: confirm the second factor, or learn how to."""
    if is_mfa_enabled(request.user):
        # allauth's middleware keeps this POST, asks for the code and then replays it.
        raise ReauthenticationRequired()
    context = {"until": needed.until, "message": needed.message}
    return render(request, "accounts/link_needs_second_factor.html", context, status=403)


@login_required
@feature_required(Feature.SIGN_IN)
@require_GET
def account_detail(request: SignedInRequest, account_id: int) -> HttpResponse:
    account = rights.get_account_or_404(request.user, Right.CONSULT, account_id)
    lazy = fragments.lazy
    contracts = lazy(lambda: selectors.account_contracts(account=account))
    mine = lazy(lambda: rights.for_request(request).of(account))
    context = {
        "account": account,
        "fragment_key": fragments.for_account(request, account.pk),
        "contracts": contracts,
        "routing": lazy(lambda: selectors.investigation_routing(account=account)),
        "mine": mine,
        # Every app's pages on this account (Users, To validate, returns, billing...).
        "sections": lazy(lambda: sections.sections_for(request, account)),
        "my_rights": lazy(lambda: RightSet.of_holder(mine).rows(contracts)),
    }
    return render(request, "accounts/detail.html", context)


@login_required
@feature_required(Feature.LINK_REMOVAL, write=True)
@require_http_methods(["GET", "POST"])
def remove_own_link(request: SignedInRequest, account_id: int) -> HttpResponse:
    account = rights.get_account_or_404(request.user, Right.CONSULT, account_id)
    if rights.for_request(request).is_administrator(account):
        # An administrator leaving changes who can run the account: a fresh second factor.
        return _administrator_leaves(request, account)
    return _leave(request, account)


def _leave(request: SignedInRequest, account: BusinessAccount) -> HttpResponse:
    if request.method == "GET":  # the confirmation page; only the POST removes
        context = {"account": account, **_what_leaving_leaves(request, account)}
        return render(request, "accounts/remove_own_link.html", context)
    try:
        services.remove_own_link(user=request.user, account=account, ip=audit.ip_of(request))
    except LinkAlreadyRemoved:
        pass  # removed meanwhile (another tab, a contact): what the user asked for
    except LastAdministrator as refused:
        messages.error(request, refused.message)
        return redirect("accounts:detail", account.pk)
    messages.success(
        request,
        _("%(account)s was removed from your business accounts.") % {"account": account.legal_name},
    )
    return redirect("home")


_administrator_leaves = second_factor_confirmed(_leave)


def _what_leaving_leaves(request: SignedInRequest, account: BusinessAccount) -> dict[str, Any]:
    """What the confirmation page tells an administrator: how many administrators who can
    validate there are, and whether they are the last one (leaving is then refused)."""
    if not rights.for_request(request).is_administrator(account):
        return {"administrator": False}
    able = list(rights.administrators_who_validate(account).values_list("user_id", flat=True))
    return {
        "administrator": True,
        "validating_administrators": len(able),
        "validates": request.user.pk in able,
        "last_administrator": able == [request.user.pk],
    }


@login_required
@feature_required(Feature.SIGN_IN)
@require_http_methods(["GET", "POST"])
def report_activity(request: SignedInRequest, account_id: int) -> HttpResponse:
    account = rights.get_account_or_404(request.user, Right.CONSULT, account_id)
    routing = selectors.investigation_routing(account=account)
    form = SuspiciousActivityForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "account": account, "routing": routing}
    if not form.is_valid():
        context["action"] = reverse("accounts:report", args=[account.pk])
        status = 400 if form.is_bound else 200
        return render(request, "accounts/report_form.html", context, status=status)
    investigation = services.report_by_user(
        user=request.user,
        account=account,
        description=form.cleaned_data["description"],
        ip=audit.ip_of(request),
    )
    _remember_report(request, f"account:{account.pk}", investigation)
    return redirect("accounts:report_done", account.pk)  # a refresh must not file it again


@login_required
@feature_required(Feature.SIGN_IN)
@require_GET
def report_done(request: SignedInRequest, account_id: int) -> HttpResponse:
    account = rights.get_account_or_404(request.user, Right.CONSULT, account_id)
    investigation = _reported(
        request, f"account:{account.pk}", account=account, reporter_user=request.user
    )
    context = {
        "account": account,
        "routing": selectors.investigation_routing(account=account),
        "investigation": investigation,
    }
    return render(request, "accounts/report_done.html", context)


# The reference of each report a browser just filed, by where it was filed: only that browser
# (its session) sees it on the done page; anyone else gets a 404.
REPORTS_SESSION_KEY = "accounts:reports"


def _remember_report(request: HttpRequest, scope: str, investigation: Investigation) -> None:
    reports = dict(request.session.get(REPORTS_SESSION_KEY, {}))
    reports[scope] = investigation.reference
    request.session[REPORTS_SESSION_KEY] = reports


def _reported(request: HttpRequest, scope: str, **reporter: Any) -> Investigation:
    reference = request.session.get(REPORTS_SESSION_KEY, {}).get(scope)
    if not reference:
        raise Http404
    return get_object_or_404(Investigation, reference=reference, **reporter)


@feature_required(Feature.SIGN_IN)
@require_GET
def security(request: HttpRequest) -> HttpResponse:
    context = {
        "credit_management_phone": settings.PORTAL_CREDIT_MANAGEMENT_PHONE,
        "small_business_phone": settings.PORTAL_SMALL_BUSINESS_PHONE,
    }
    return render(request, "accounts/security.html", context)


# --- the contact's removal link (no sign-in: the signed token is the authority) ---------------


# These pages close with the rest of the portal during a sign-in interruption (SIGN_IN). The
# removal itself asks LINK_REMOVAL inside, so the contact reads a try-later page in their own
# language rather than the bare 503.
@never_cache  # a page for one person, reached by a secret link
@feature_required(Feature.SIGN_IN)
@require_http_methods(["GET", "POST"])
def removal(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows who would be removed from which account; only the POST removes."""
    if _rate_limited(request):
        return _too_many(request)
    if request.method == "POST":
        return _confirm_removal(request, token)
    try:
        notice = removal_links.notice_for_token(token)
    except RemovalLinkError as refused:
        return _refused(request, refused)
    context = {
        **_notice_context(notice),
        "token": token,
        "removal_down": closure_for(Feature.LINK_REMOVAL),
    }
    return _render_for_contact(request, notice, "accounts/removal/confirm.html", context)


def _confirm_removal(request: HttpRequest, token: str) -> HttpResponse:
    try:
        notice = services.remove_link_with_token(token=token, ip=audit.ip_of(request))
    except RemovalLinkError as refused:
        return _refused(request, refused)
    except FeatureClosed as closed:
        return _try_later(request, token, closed.closure.retry_after_seconds())
    except DatabaseError:
        logger.exception("Removal through a contact's link failed; the link stays valid")
        return _try_later(request, token, 60)
    context = {**_notice_context(notice), "form": SuspiciousActivityForm(), "token": token}
    return _render_for_contact(request, notice, "accounts/removal/done.html", context)


@never_cache
@feature_required(Feature.SIGN_IN)
@require_http_methods(["GET", "POST"])
def removal_report(request: HttpRequest, token: str) -> HttpResponse:
    """A contact reports suspicious activity; their link works for this even once used."""
    if _rate_limited(request):
        return _too_many(request)
    try:
        notice = removal_links.notice_for_token(token, spent_ok=True)
    except RemovalLinkError as refused:
        return _refused(request, refused)
    form = SuspiciousActivityForm(request.POST if request.method == "POST" else None)
    context = {**_notice_context(notice), "form": form}
    if not form.is_valid():
        context["action"] = reverse("accounts:removal_report", args=[token])
        status = 400 if form.is_bound else 200
        return _render_for_contact(request, notice, "accounts/report_form.html", context, status)
    investigation = services.report_by_contact(
        notice=notice, description=form.cleaned_data["description"], ip=audit.ip_of(request)
    )
    _remember_report(request, f"notice:{notice.pk}", investigation)
    return redirect("accounts:removal_report_done", token)  # a refresh must not file it again


@never_cache
@feature_required(Feature.SIGN_IN)
@require_GET
def removal_report_done(request: HttpRequest, token: str) -> HttpResponse:
    if _rate_limited(request):
        return _too_many(request)
    try:
        notice = removal_links.notice_for_token(token, spent_ok=True)
    except RemovalLinkError as refused:
        return _refused(request, refused)
    context = {
        **_notice_context(notice),
        "investigation": _reported(request, f"notice:{notice.pk}", reporter_notice=notice),
    }
    return _render_for_contact(request, notice, "accounts/report_done.html", context)


def _notice_context(notice: LinkNotice) -> dict[str, Any]:
    link = notice.link
    return {
        "notice": notice,
        "account": link.account,
        "linked_user": link.user,
        "linked_user_name": link.user.get_full_name() or link.user.email,
        "expires_at": removal_links.expires_at(notice),
        "valid_days": settings.PORTAL_REMOVAL_LINK_VALID_DAYS,
        "routing": selectors.investigation_routing(account=link.account),
    }


def _refused(request: HttpRequest, refused: RemovalLinkError) -> HttpResponse:
    if isinstance(refused, RemovalLinkInvalid) or refused.notice is None:
        # Nothing about the link is known or said; the visitor's own language.
        return render(request, "accounts/removal/invalid.html", status=404)
    if isinstance(refused, RemovalLinkExpired):
        template, status = "accounts/removal/expired.html", 410
    else:
        template, status = "accounts/removal/used.html", 409
    notice = refused.notice
    return _render_for_contact(request, notice, template, _notice_context(notice), status)


def _try_later(request: HttpRequest, token: str, retry_after: int) -> HttpResponse:
    """Nothing changed and the link stays valid; said in the contact's language when possible."""
    try:
        notice: LinkNotice | None = removal_links.notice_for_token(token)
    except RemovalLinkError as refused:  # a bad link says so, maintenance or not
        return _refused(request, refused)
    except DatabaseError:
        notice = None
    context = _notice_context(notice) if notice else {}
    template = "accounts/removal/try_later.html"
    response = _render_for_contact(request, notice, template, context, 503)
    response["Retry-After"] = str(retry_after)
    return response


def _rate_limited(request: HttpRequest) -> bool:
    return throttle.hit_limit(
        ("removal_link_ip", audit.ip_of(request) or "unknown"),
        limit=settings.PORTAL_REMOVAL_LINK_RATE_LIMIT,
        window=settings.PORTAL_REMOVAL_LINK_RATE_WINDOW,
    )


def _too_many(request: HttpRequest) -> HttpResponse:
    response = render(request, "accounts/removal/too_many.html", status=429)
    response["Retry-After"] = str(settings.PORTAL_REMOVAL_LINK_RATE_WINDOW)
    return response


def _render_for_contact(
    request: HttpRequest,
    notice: LinkNotice | None,
    template: str,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    """Render in the language of the contact the e-mail went to.

    A language the visitor chose with the switch on the page (its cookie) wins: the contact may
    prefer to read it in the other one.
    """
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    if chosen in dict(settings.LANGUAGES):
        language = chosen
    else:
        language = notice.language if notice else translation.get_language() or "en"
    with translation.override(language):
        response = render(request, template, context, status=status)
    response["Content-Language"] = language
    return response
