from django.urls import path, register_converter

from flowdesk.tickets import views


class TicketTypeConverter:
    """The plural menu slugs of the four ticket types (`changes` → `change`)."""

    regex = "changes|requests|incidents|problems"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(TicketTypeConverter, "tickettype")

app_name = "tickets"

urlpatterns = [
    path("<tickettype:menu>/", views.ticket_list, name="ticket_list"),
    path("tickets/<str:sn>/", views.ticket_detail, name="ticket_detail"),
    path("tickets/<str:sn>/print/", views.ticket_print, name="ticket_print"),
    path("tickets/<str:sn>/tasks/<int:pk>/form/", views.task_form, name="task_form"),
    path("tickets/<str:sn>/tasks/<int:pk>/<str:action>/", views.task_action, name="task_action"),
    path("tickets/<str:sn>/do/<str:action>/", views.ticket_action, name="ticket_action"),
    path("attachments/", views.attachment_upload, name="attachment_upload"),
    path("attachments/<uuid:pk>/", views.attachment_download, name="attachment_download"),
]
