from django.urls import path

from flowdesk.automation import views

app_name = "automation"

urlpatterns = [
    path(
        "tickets/<str:sn>/automation/<int:pk>/<str:action>/",
        views.run_action,
        name="run_action",
    ),
]
