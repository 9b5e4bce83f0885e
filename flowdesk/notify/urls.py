from django.urls import path

from flowdesk.notify import views

app_name = "notify"

urlpatterns = [
    # the outbox, e-mails and their health
    path("", views.delivery_list, name="delivery_list"),
    path("outbox/<int:pk>/", views.delivery_detail, name="delivery_detail"),
    path("outbox/<int:pk>/retry/", views.delivery_retry, name="delivery_retry"),
    path("emails/", views.mail_list, name="mail_list"),
    path("health/", views.health, name="health"),
    path("health.json", views.health_json, name="health_json"),
    # e-mail templates
    path("templates/", views.template_list, name="template_list"),
    path("templates/<str:event>/<str:language>/", views.template_edit, name="template_edit"),
    path(
        "templates/<str:event>/<str:language>/reset/",
        views.template_reset,
        name="template_reset",
    ),
    # chat and webhook endpoints
    path("endpoints/", views.endpoint_list, name="endpoint_list"),
    path("endpoints/new/", views.endpoint_edit, name="endpoint_add"),
    path("endpoints/<int:pk>/", views.endpoint_edit, name="endpoint_edit"),
    path("endpoints/<int:pk>/delete/", views.endpoint_delete, name="endpoint_delete"),
    path("endpoints/<int:pk>/test/", views.endpoint_test, name="endpoint_test"),
    path("endpoints/<int:pk>/deliveries/", views.endpoint_log, name="endpoint_log"),
]
