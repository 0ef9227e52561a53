"""The gate for views the portal does not write itself (allauth's), chosen by URL name,
and the sign-in interruption, which closes the whole portal to non-staff sessions."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.deprecation import MiddlewareMixin

from outages import gate
from outages.decorators import closed_response, is_write
from outages.features import Feature
from portal.open_urls import ALWAYS_OPEN_URL_NAMES

# A URL name closed by several features is closed while any one of them is interrupted.
URL_NAME_FEATURES: dict[str, Feature | tuple[Feature, ...]] = {
    "account_signup": Feature.REGISTRATION,
    # The link confirms a new profile's address (registration) or one added later (profile).
    "account_confirm_email": (Feature.REGISTRATION, Feature.PROFILE_CHANGES),
    "account_login": Feature.SIGN_IN,
    "account_confirm_login_code": Feature.SIGN_IN,
    "mfa_authenticate": Feature.SIGN_IN,
    "mfa_login_webauthn": Feature.SIGN_IN,
    "account_reset_password": Feature.PASSWORD_RECOVERY,
    "account_reset_password_done": Feature.PASSWORD_RECOVERY,
    "account_reset_password_from_key": Feature.PASSWORD_RECOVERY,
    "account_reset_password_from_key_done": Feature.PASSWORD_RECOVERY,
    "account_confirm_password_reset_code": Feature.PASSWORD_RECOVERY,
    # A profile's e-mail address is its identifier; the password change stays open, so someone
    # who fears for their account can always change it.
    "account_email": Feature.PROFILE_CHANGES,
}


class MaintenanceGateMiddleware(MiddlewareMixin):
    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        name = match.view_name if match else ""
        if name in ALWAYS_OPEN_URL_NAMES or request.path.startswith(settings.STATIC_URL):
            return None
        sign_in = gate.closure_for(Feature.SIGN_IN)
        if sign_in is not None and not _staff_may_pass(request, name):
            return closed_response(request, sign_in)
        features = URL_NAME_FEATURES.get(name, ())
        for feature in features if isinstance(features, tuple) else (features,):
            if feature == Feature.SIGN_IN:
                continue
            closure = gate.closure_for(feature, write=is_write(request))
            if closure is not None:
                return closed_response(request, closure)
        return None


def _staff_may_pass(request: HttpRequest, url_name: str) -> bool:
    """During a sign-in interruption staff keep the admin, and may sign in to reach it."""
    admin_prefix = reverse("admin:index")
    if request.user.is_authenticated:
        return request.user.is_staff and (
            request.path.startswith(admin_prefix) or url_name.startswith("mfa_")
        )
    if url_name in ("account_login", "mfa_authenticate"):
        return request.GET.get("next", "").startswith(admin_prefix) or (
            url_name == "mfa_authenticate"
        )
    return False


class FeatureClosedMiddleware(MiddlewareMixin):
    """A service that refuses with FeatureClosed answers the maintenance page: 503, Retry-After.

    Views need not catch it: whatever a service finds closed (a window that began between the
    view's own gate check and the write, or a feature only the service knows, such as the one a
    queued action belongs to) ends the same way as the gate at the door.
    """

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, gate.FeatureClosed):
            return closed_response(request, exception.closure)
        return None


class GateSnapshotPerRequestMiddleware:
    """Every gate check of one request reads one snapshot: the shared cache is asked at most
    once per page, and the banner, the buttons and the services agree. First in MIDDLEWARE, so
    the other middleware's checks share it too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with gate.one_snapshot_per_request():
            return self.get_response(request)
