from django.urls import path

from outages import views

app_name = "outages"
urlpatterns = [
    path("", views.status, name="status"),
    path("archive/", views.archive, name="archive"),
]
