"""The benchmark's two yardsticks, served beside the portal in the same deployment: a bare view
("ok") and a floor page (signed in, a 20-row table from one query through the base template).
Mounted only when PORTAL_BENCH_BASELINES is set; every page's figure is read as a ratio to them,
so what the machine, gunicorn and the middleware cost cancels out."""

from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@login_required
def floor(request: HttpRequest) -> HttpResponse:
    events = apps.get_model("accounts", "AuditEvent").objects  # portal imports no app
    rows = list(events.order_by("-pk").values_list("pk", "event", "created_at")[:20])
    return render(request, "portal/bench_floor.html", {"rows": rows})
