"""Returns' URLs, mounted at the site's root: signed-in pages under
/business/<account_id>/returns/; the public ones (direct return link, tracking endpoint,
unsubscribe) on their own paths."""

from django.urls import include, path

from returns.views import notifications, policies, public, reports, tracking

app_name = "returns"
account_patterns = [
    path("", policies.policy_list, name="policies"),
    path("new/", policies.policy_create, name="policy_create"),
    path("<int:policy_id>/", policies.policy_detail, name="policy"),
    path("<int:policy_id>/edit/", policies.policy_edit, name="policy_edit"),
    path("<int:policy_id>/activate/", policies.policy_activate, name="policy_activate"),
    path("<int:policy_id>/deactivate/", policies.policy_deactivate, name="policy_deactivate"),
    path("<int:policy_id>/delete/", policies.policy_delete, name="policy_delete"),
    path("forecast/", reports.forecast, name="forecast"),
    path("forecast.<str:file_format>", reports.forecast_download, name="forecast_download"),
    path("report/", reports.report, name="report"),
    path("report.<str:file_format>", reports.report_download, name="report_download"),
    path("notifications/", notifications.settings_page, name="notifications"),
    path(
        "notifications/<int:recipient_id>/remove/",
        notifications.remove_recipient,
        name="remove_recipient",
    ),
]

public_patterns = [
    path("return/<str:token>/", public.direct_link, name="direct_link"),
    path("return/<str:token>/label/<str:tracking_number>/", public.label_done, name="label_done"),
    path(
        "return/<str:token>/label/<str:tracking_number>/pdf/",
        public.label_pdf,
        name="label_pdf",
    ),
    path("api/tracking/events/", tracking.receive_events, name="tracking_events"),
    path("returns/unsubscribe/<str:token>/", notifications.unsubscribe, name="unsubscribe"),
]

urlpatterns = [
    path("business/<int:account_id>/returns/", include(account_patterns)),
    *public_patterns,
]
