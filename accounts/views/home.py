"""The home page, "My business accounts": where a signed-in user lands.

Like every signed-in page that no capability of its own closes, it belongs to SIGN_IN (the
middleware closes it with the whole portal during a sign-in interruption).
"""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts import selectors
from outages.decorators import feature_required
from outages.features import Feature

# A bookkeeping firm can act for many businesses: the list stays fast however long it is.
HOME_PAGE_SIZE = 25


@login_required
@feature_required(Feature.SIGN_IN)
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The accounts linked to the user, a page at a time."""
    accounts = selectors.linked_accounts(user=request.user)
    page = Paginator(accounts, HOME_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "accounts/home.html", {"accounts": page.object_list, "page": page})
