from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path

from accounts.views import home
from portal import metrics, views

# Staff sign in through allauth (two factors), never through the admin's own password form.
admin.site.login = login_required(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "Business Portal — support"

# Renders without a request, so a failing database, session or gate cannot break it; a database
# outage met outside a view also answers its 503 page from here.
handler500 = "portal.errors.server_error"

urlpatterns = [
    path("", home, name="home"),
    # Load balancers: /healthz/live (the process answers), /healthz/ready (it can serve: the
    # database, cache and broker answer); /healthz is the readiness probe under its old name.
    path("healthz", views.healthz, name="healthz"),
    path("healthz/live", views.healthz_live, name="healthz_live"),
    path("healthz/ready", views.healthz_ready, name="healthz_ready"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("accounts/", include("allauth.urls")),
    # Business accounts live under /business/: allauth already owns /accounts/.
    path("business/", include("accounts.urls")),
    path("business/<int:account_id>/billing/", include("billing.urls")),
    path("", include("returns.urls")),
    path("status/", include("outages.urls")),
    path(f"{settings.PORTAL_ADMIN_PATH}/", admin.site.urls),
]

if settings.PORTAL_BENCH_BASELINES:  # the benchmark's yardsticks, never in a real deployment
    from portal import baselines

    urlpatterns += [
        path("bench/ok", baselines.bare, name="bench_ok"),
        path("bench/floor", baselines.floor, name="bench_floor"),
    ]
