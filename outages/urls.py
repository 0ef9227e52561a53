from django.urls import path

from outages import views

app_name = "outages"
urlpatterns = [
    path("", views.status, name="status"),
    path("archive/", views.archive, name="archive"),
    path("calendar.ics", views.ical, name="ical"),
    path("feed.atom", views.atom, name="atom"),
    path("interruptions.json", views.interruptions_json, name="json"),
]
