from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path

from accounts.views import home
from portal import views

# Staff sign in through allauth (two factors), never through the admin's own password form.
admin.site.login = login_required(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "Business Portal — support"

# Renders without a request, so a failing database, session or gate cannot break it; a database
# outage met outside a view also answers its 503 page from here.
handler500 = "portal.errors.server_error"

urlpatterns = [
    path("", home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("accounts/", include("allauth.urls")),
    # Business accounts live under /business/: allauth already owns /accounts/.
    path("business/", include("accounts.urls")),
    path("business/<int:account_id>/billing/", include("billing.urls")),
    path("", include("returns.urls")),
    path("status/", include("outages.urls")),
    path(f"{settings.PORTAL_ADMIN_PATH}/", admin.site.urls),
]
