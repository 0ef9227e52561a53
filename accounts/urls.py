from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("link/", views.link_account, name="link"),
    path("security/", views.security, name="security"),
    path("<int:account_id>/", views.account_detail, name="detail"),
    path("<int:account_id>/remove-me/", views.remove_own_link, name="leave"),
    path("<int:account_id>/report/", views.report_activity, name="report"),
    path("<int:account_id>/report/done/", views.report_done, name="report_done"),
    path("removal/<str:token>/", views.removal, name="removal"),
    path("removal/<str:token>/report/", views.removal_report, name="removal_report"),
    path(
        "removal/<str:token>/report/done/",
        views.removal_report_done,
        name="removal_report_done",
    ),
    # An administrator's users: the list, "Add a user" in four steps, change rights, remove.
    path("<int:account_id>/users/", views.users, name="users"),
    path("<int:account_id>/users/default-rights/", views.default_right, name="default_right"),
    path("<int:account_id>/users/add/", views.add_pick, name="add_user"),
    path("<int:account_id>/users/add/details/", views.add_details, name="add_details"),
    path("<int:account_id>/users/add/rights/", views.rights_way, name="add_rights"),
    path("<int:account_id>/users/add/rights/custom/", views.rights_custom, name="add_custom"),
    path("<int:account_id>/users/add/review/", views.review, name="add_review"),
    path("<int:account_id>/users/<int:link_id>/rights/", views.rights_way, name="change_rights"),
    path(
        "<int:account_id>/users/<int:link_id>/rights/custom/",
        views.rights_custom,
        name="change_custom",
    ),
    path("<int:account_id>/users/<int:link_id>/review/", views.review, name="change_review"),
    path("<int:account_id>/users/<int:link_id>/remove/", views.remove, name="remove_user"),
    path("<int:account_id>/audit/", views.audit_trail, name="audit"),
    # The validation queue.
    path("<int:account_id>/to-validate/", views.to_validate, name="to_validate"),
    path(
        "<int:account_id>/to-validate/<int:request_id>/",
        views.request_detail,
        name="request_detail",
    ),
    path(
        "<int:account_id>/to-validate/<int:request_id>/approve/",
        views.approve,
        name="approve_request",
    ),
    path(
        "<int:account_id>/to-validate/<int:request_id>/reject/",
        views.reject,
        name="reject_request",
    ),
]
