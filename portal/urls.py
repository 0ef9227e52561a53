from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path

from portal import views

# Staff sign in through allauth (two factors), never through the admin's own password form.
admin.site.login = login_required(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "Business Portal — support"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("accounts/", include("allauth.urls")),
    # Business accounts live under /business/: allauth already owns /accounts/.
    path("business/", include("accounts.urls")),
    path("status/", include("outages.urls")),
    path(f"{settings.PORTAL_ADMIN_PATH}/", admin.site.urls),
]
