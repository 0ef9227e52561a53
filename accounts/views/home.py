"""The home page, "My business accounts": where a signed-in user lands.

Like every signed-in page that no capability of its own closes, it belongs to SIGN_IN (the
middleware closes it with the whole portal during a sign-in interruption).
"""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts import rights, selectors
from accounts.models import BusinessAccount
from outages.decorators import feature_required
from outages.features import Feature
from portal import fragments

# A bookkeeping firm can act for many businesses: the list stays fast however long it is.
HOME_PAGE_SIZE = 25


def _with_rights(request: HttpRequest, accounts: Any) -> list[BusinessAccount]:
    """The page's accounts, the user's rights on all of them read in one query."""
    listed = list(accounts)
    rights.for_request(request).preload(listed)
    return listed


@login_required
@feature_required(Feature.SIGN_IN)
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The accounts linked to the user, a page at a time."""
    page = fragments.lazy_page(
        request, lambda: selectors.linked_accounts(user=request.user), HOME_PAGE_SIZE
    )
    context = {
        "fragment_key": fragments.for_reader(request),
        "accounts": fragments.lazy(lambda: _with_rights(request, page.object_list)),
        "page": page,
    }
    return render(request, "accounts/home.html", context)
