from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "flowdesk.api"
    label = "api"
