from django.urls import path

from flowdesk.sla import views

app_name = "sla"

urlpatterns = [
    path("", views.calendar_list, name="calendar_list"),
    path("new/", views.calendar_edit, name="calendar_add"),
    path("<slug:name>/", views.calendar_edit, name="calendar_edit"),
]
