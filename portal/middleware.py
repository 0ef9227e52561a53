from collections.abc import Callable

from allauth.mfa.utils import is_mfa_enabled
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse


class StaffAdminRequiresMFAMiddleware:
    """Staff reach the admin only after turning on two-factor authentication.

    The admin's own login page is replaced by allauth's (see urls.py), so this is the one place
    that adds the second-factor requirement for staff.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            request.path.startswith(reverse("admin:index"))
            and user.is_authenticated
            and user.is_staff
            and not is_mfa_enabled(user)
        ):
            return redirect("mfa_index")
        return self.get_response(request)
