"""The portal's URLs plus one tiny view per capability behind `feature_required`, and a class
view behind `FeatureRequiredMixin`, as later apps will write theirs."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views import View

from outages.decorators import FeatureRequiredMixin, feature_required
from outages.features import Feature
from portal.urls import urlpatterns as portal_urlpatterns


def offered(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"offered: {request.method}")


class OnlinePaymentView(FeatureRequiredMixin, View):
    gated_feature = Feature.ONLINE_PAYMENT

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("invoice")

    def post(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("paid")


urlpatterns = [
    *portal_urlpatterns,
    *(
        path(f"gated/{feature.value}/", feature_required(feature)(offered), name=f"gated-{feature}")
        for feature in Feature
    ),
    path("gated-class/", OnlinePaymentView.as_view(), name="gated-class"),
    path(
        "gated-write/",
        feature_required(Feature.INVOICES, write=True)(offered),
        name="gated-write",
    ),
]
