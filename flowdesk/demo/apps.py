from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "flowdesk.demo"
    label = "demo"
