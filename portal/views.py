from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import i18n as i18n_views
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts import selectors as account_selectors

# A bookkeeping firm can act for many businesses: the list stays fast however long it is.
HOME_PAGE_SIZE = 25


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """ "My business accounts": the accounts linked to the user, a page at a time."""
    accounts = account_selectors.linked_accounts(user=request.user)
    page = Paginator(accounts, HOME_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/home.html", {"accounts": page.object_list, "page": page})


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the configured broker answer; 503 names what does not."""
    problems = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # any failure means "down"; the reason is reported
        problems["database"] = type(error).__name__
    if settings.REDIS_URL:
        try:
            _ping_broker()
        except Exception as error:
            problems["broker"] = type(error).__name__
    status = 503 if problems else 200
    return JsonResponse(
        {"status": "down" if problems else "ok", "problems": problems}, status=status
    )


def _ping_broker() -> None:
    from portal.celery import app

    # The URL is read from the settings on each call. The socket timeouts keep a broker that does
    # not answer from holding the probe, and a web worker, for the system's TCP timeout.
    with app.connection_for_write(
        settings.CELERY_BROKER_URL,
        connect_timeout=2,
        transport_options={"socket_connect_timeout": 2, "socket_timeout": 2},
    ) as conn:
        conn.ensure_connection(max_retries=0, timeout=2)


def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, also remembered on the profile so e-mails follow the choice."""
    response = i18n_views.set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        # request.user is a lazy proxy: type() of it is not the user model.
        get_user_model().objects.filter(pk=request.user.pk).update(language=language)
    return response
