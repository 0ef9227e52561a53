from collections.abc import Callable

from allauth.mfa.utils import is_mfa_enabled
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from portal import errors


class StaffAdminRequiresMFAMiddleware:
    """Staff reach the admin only after turning on two-factor authentication.

    The admin's own login page is replaced by allauth's (see urls.py), so this is the one place
    that adds the second-factor requirement for staff.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if request.path.startswith(reverse("admin:index")):
            if request.path == reverse("admin:login"):
                return _admin_login(request)
            if user.is_authenticated and user.is_staff and not is_mfa_enabled(user):
                return redirect("mfa_index")
        return self.get_response(request)


def _admin_login(request: HttpRequest) -> HttpResponse:
    """Never run the admin's password form: it would sign anyone in without a second factor.

    Anonymous visitors go to allauth's sign-in, signed-in customers are refused (403) and staff
    go on to where they were heading.
    """
    target = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("admin:index")
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(target, login_url=reverse("account_login"))
    if not user.is_staff:
        raise PermissionDenied
    if not is_mfa_enabled(user):
        return redirect("mfa_index")
    return redirect(target)


class DatabaseUnavailableMiddleware:
    """A view that meets a database outage answers the 503 page (portal.errors), not a 500.

    Outages met before or after the view (a middleware reading the session) reach handler500,
    which answers the same page.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, errors.DATABASE_UNAVAILABLE):
            return None
        errors.log_database_unavailable(request, exception)
        return errors.database_unavailable_response()
