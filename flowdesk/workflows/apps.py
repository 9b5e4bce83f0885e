from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "flowdesk.workflows"
    label = "workflows"
