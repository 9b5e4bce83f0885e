from django.apps import AppConfig


class ClientConfig(AppConfig):
    name = "flowdesk.client"
    label = "client"
