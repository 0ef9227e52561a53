"""The direct return link: a business's customer gets a label without signing in.

The link's token is the authority. The pages say nothing about the business's account: an
unknown token and a policy that is inactive, suspended or deleted get the same page (404).
Asking for a label (POST) is rate-limited per address and per link; showing the form (GET)
reads one row and writes nothing, within a roomier budget per address of its own. A label's
pages answer only for its own link and number; each miss counts against the visitor's
address, so numbers cannot be tried one after another, and so does each PDF drawn (CPU time).

Statuses: 404 labels not available or label not found, 403 return window passed, 429 too many
requests (Retry-After), 503 maintenance of return labels (Retry-After, from the gate).
"""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts import audit
from outages.decorators import feature_required
from outages.features import Feature
from portal import fragments, throttle
from returns import labels
from returns.exceptions import LabelsUnavailable, PurchaseDateRequired, ReturnWindowPassed
from returns.models import Channel, ReturnLabel
from returns.public_forms import LabelRequestForm
from returns.services.labels import issue_label, label_for_link, policy_for_link

RATE_WINDOW = 3600  # the RETURNS_LINK_RATE_* settings count per hour


@never_cache  # a page for one customer, reached by a secret link
@feature_required(Feature.RETURN_LABELS)
@require_http_methods(["GET", "POST"])
def direct_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the form; POST issues the label and redirects to it."""
    if request.method == "POST" and _over_post_limits(request, token):
        return _too_many(request)
    if request.method == "GET" and _over_view_limit(request):
        return _too_many(request)
    policy = policy_for_link(token)
    if policy is None:
        return _unavailable(request)
    posted = request.method == "POST"
    form = LabelRequestForm(request.POST if posted else None, policy=policy)
    if posted and form.is_valid():
        try:
            label = issue_label(
                policy_token=token,
                data=form.label_request(),
                ip=audit.ip_of(request),
                language=translation.get_language() or settings.LANGUAGE_CODE,
            )
        except LabelsUnavailable:
            return _unavailable(request)
        except ReturnWindowPassed as refused:
            context = {"message": refused.message, "token": token}
            return _page(request, "returns/public/window_passed.html", context, status=403)
        except PurchaseDateRequired as refused:
            form.add_error("purchase_date", str(refused.message))
        else:
            return redirect("returns:label_done", token, label.tracking_number)
    context = {
        "form": form,
        "policy": policy,
        "token": token,
        # The empty form's fields are the same for every visitor (its CSRF token is outside).
        "fields_key": None
        if posted
        else fragments.for_account_visitors(request, policy.account_id),
    }
    return _page(request, "returns/public/form.html", context, status=400 if posted else 200)


@never_cache
@feature_required(Feature.RETURN_LABELS)
@require_GET
def label_done(request: HttpRequest, token: str, tracking_number: str) -> HttpResponse:
    """The label: online, a link to its PDF; post office, the QR code and the counter code."""
    label = label_for_link(token, tracking_number)
    if label is None:
        return _missed(request)
    context = {**labels.label_context(label), "token": token}
    return _page(request, "returns/public/done.html", context)


@never_cache
@feature_required(Feature.RETURN_LABELS)
@require_GET
def label_pdf(request: HttpRequest, token: str, tracking_number: str) -> HttpResponse:
    """The 4-by-6-inch PDF of an online label, in the visitor's language. Drawing it costs
    CPU time, so every download counts against the visitor's address."""
    if _over_ip_limit(request, "returns_label_pdf_ip"):
        return _too_many(request)
    label = label_for_link(token, tracking_number)
    if label is None or label.channel != Channel.ONLINE:
        return _missed(request)
    return _pdf(label)


def _pdf(label: ReturnLabel) -> HttpResponse:
    response = HttpResponse(labels.render_label_pdf(label), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{labels.pdf_filename(label)}"'
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


# --- limits and refusals -----------------------------------------------------------------------


def _ip_key(request: HttpRequest, scope: str) -> throttle.Key:
    return (scope, audit.ip_of(request) or "unknown")


def _over_ip_limit(request: HttpRequest, scope: str, limit: int | None = None) -> bool:
    """Count this request against its address under `scope`; True once over the hourly limit
    (RETURNS_LINK_RATE_PER_IP unless another is given)."""
    hourly = settings.RETURNS_LINK_RATE_PER_IP if limit is None else limit
    return throttle.hit_limit(_ip_key(request, scope), limit=hourly, window=RATE_WINDOW)


def _over_view_limit(request: HttpRequest) -> bool:
    """Count a showing of the form against its address, before the token is read."""
    return _over_ip_limit(request, "returns_link_view_ip", settings.RETURNS_LINK_VIEWS_PER_IP)


def _over_post_limits(request: HttpRequest, token: str) -> bool:
    """Count this request against its address and its link; True once either is over."""
    if _over_ip_limit(request, "returns_link_ip"):
        # Not counted against the link: one address cannot use up a merchant's quota.
        return True
    return throttle.hit_limit(
        ("returns_link_policy", token[:64]),
        limit=settings.RETURNS_LINK_RATE_PER_POLICY,
        window=RATE_WINDOW,
    )


def _missed(request: HttpRequest) -> HttpResponse:
    """No label for this link and number: 404, or 429 once the address has missed too often."""
    if _over_ip_limit(request, "returns_label_miss_ip"):
        return _too_many(request)
    return _page(request, "returns/public/label_not_found.html", {}, status=404)


def _unavailable(request: HttpRequest) -> HttpResponse:
    message = LabelsUnavailable.message
    return _page(request, "returns/public/unavailable.html", {"message": message}, status=404)


def _too_many(request: HttpRequest) -> HttpResponse:
    response = _page(request, "returns/public/too_many.html", {}, status=429)
    response["Retry-After"] = str(RATE_WINDOW)
    return response


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    response = render(request, template, context, status=status)
    response["X-Robots-Tag"] = "noindex, nofollow"  # secret links stay out of search engines
    return response
