from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "flowdesk.automation"
    label = "automation"
