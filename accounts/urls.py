from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("link/", views.link_account, name="link"),
    path("security/", views.security, name="security"),
    path("<int:account_id>/", views.account_detail, name="detail"),
    path("<int:account_id>/remove-me/", views.remove_own_link, name="leave"),
    path("<int:account_id>/report/", views.report_activity, name="report"),
    path("removal/<str:token>/", views.removal, name="removal"),
    path("removal/<str:token>/report/", views.removal_report, name="removal_report"),
]
