from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from outages import selectors


@require_GET
def status(request: HttpRequest) -> HttpResponse:
    return render(
        request, "outages/status.html", {"windows": selectors.current_and_upcoming_windows()}
    )


@require_GET
def archive(request: HttpRequest) -> HttpResponse:
    return render(request, "outages/archive.html", {"windows": selectors.past_windows()})
