"""Sensitive confirmations ask for the second factor again, through allauth's reauthentication.

`second_factor_confirmed` wraps a view's POST: an administrator without two-factor is sent to
set it up; one who has not entered a code (or used a security key) in the last
PORTAL_SECOND_FACTOR_MAX_AGE seconds is sent to allauth's reauthentication, which puts the
second factor first for such users (portal.adapters) and replays the POST once it succeeds.
"""

import functools
import time
from collections.abc import Callable
from typing import Any

from allauth.account.authentication import get_authentication_records
from allauth.core.exceptions import ReauthenticationRequired
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

View = Callable[..., HttpResponse]


def confirmed_recently(request: HttpRequest) -> bool:
    """Whether the user re-entered their second factor within the allowed time.

    Only a reauthentication counts: the code entered at sign-in hours ago does not confirm
    this operation.
    """
    now = time.time()
    return any(
        record.get("method") == "mfa"
        and record.get("reauthenticated")
        and now - float(record.get("at", 0)) < settings.PORTAL_SECOND_FACTOR_MAX_AGE
        for record in get_authentication_records(request, request.user)
    )


def second_factor_confirmed(view: View) -> View:
    """On POST, require a fresh second factor before `view` runs (GET passes: it shows)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            if not is_mfa_enabled(request.user):
                messages.warning(
                    request,
                    _("Set up two-factor authentication first: confirming this change needs it."),
                )
                return redirect("mfa_index")
            if not confirmed_recently(request):
                # allauth's middleware keeps this POST and sends the user to reauthenticate.
                raise ReauthenticationRequired()
        return view(request, *args, **kwargs)

    return wrapped
