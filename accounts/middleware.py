"""A delegated user's first sign-in: their own password, then a second factor, before anything.

The administrator's flow made them with a texted temporary password and the duty to enrol a
second factor. Until both are done, every page but the few that do it (and signing out,
switching language, the status page) redirects to the next step.

The second factor stays required afterwards (accounts.mfa): allauth refuses to deactivate the
authenticator app, this middleware refuses to remove the last security key (allauth asks no
adapter there), and someone who requires it but signs in without one (turned off before this
rule, or added by an administrator to an existing profile) is sent back to the enrolment step.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.deprecation import MiddlewareMixin
from django.utils.translation import gettext_lazy as _

from accounts import caching
from portal.open_urls import ALWAYS_OPEN_URL_NAMES

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

# Besides the portal's always-open pages, someone who forgot the temporary password can reset it.
ALWAYS_ALLOWED = ALWAYS_OPEN_URL_NAMES | {
    "account_reset_password",
    "account_reset_password_done",
    "account_reset_password_from_key",
    "account_reset_password_from_key_done",
}
PASSWORD_STEP = frozenset({"account_change_password"})
SECOND_FACTOR_STEP = frozenset(
    {
        "account_reauthenticate",
        "mfa_reauthenticate",
        "mfa_index",
        "mfa_activate_totp",
        "mfa_add_webauthn",
        "mfa_view_recovery_codes",
        "mfa_generate_recovery_codes",
        "mfa_download_recovery_codes",
    }
)


class FirstSignInMiddleware(MiddlewareMixin):
    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated or request.path.startswith(settings.STATIC_URL):
            return None
        match = request.resolver_match
        name = match.view_name if match else ""
        if name == "mfa_remove_webauthn" and request.method == "POST":
            refused = _refuse_removing_the_last_key(request, kwargs.get("pk"))
            if refused is not None:
                return refused
        if name in ALWAYS_ALLOWED:
            return None
        if getattr(user, "temporary_password_expires_at", None) is not None:
            return _step(request, name, PASSWORD_STEP, "account_change_password", PASSWORD_NOTE)
        if getattr(user, "must_enrol_second_factor", False):
            if is_mfa_enabled(user):
                # Enrolled: lower the flag once, so later requests cost no query.
                # request.user is a lazy proxy: type() of it is not the user model.
                get_user_model().objects.filter(pk=user.pk).update(must_enrol_second_factor=False)
                caching.user_changed(user.pk)
                user.must_enrol_second_factor = False  # type: ignore[attr-defined]
                return None
            return _step(request, name, SECOND_FACTOR_STEP, "mfa_activate_totp", MFA_NOTE)
        return None


PASSWORD_NOTE = _("Welcome! Before anything else, replace your temporary password with your own.")
MFA_NOTE = _(
    "One more step: set up two-factor authentication. Your business account requires it "
    "before you can use the portal."
)


def _refuse_removing_the_last_key(request: HttpRequest, pk: Any) -> HttpResponse | None:
    """allauth's security-key removal asks no adapter: ask the one its app-deactivation asks."""
    key = Authenticator.objects.filter(
        pk=pk, user_id=request.user.pk, type=Authenticator.Type.WEBAUTHN
    ).first()
    adapter = get_mfa_adapter()
    if key is None or adapter.can_delete_authenticator(key):
        return None
    messages.error(request, adapter.error_messages["cannot_delete_authenticator"])
    return redirect("mfa_list_webauthn")


def _step(
    request: HttpRequest, name: str, allowed: frozenset[str], target: str, note: "_StrPromise"
) -> HttpResponse | None:
    if name in allowed:
        return None
    messages.info(request, note)
    return redirect(target)
