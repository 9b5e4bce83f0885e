from django.urls import path

from flowdesk.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.entry_list, name="entry_list"),
    path("export/", views.entry_export, name="entry_export"),
    path("tickets/<str:sn>/report/", views.ticket_report_page, name="ticket_report"),
]
