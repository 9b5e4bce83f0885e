from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "flowdesk.audit"
    label = "audit"
