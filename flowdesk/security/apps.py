from django.apps import AppConfig


class SecurityConfig(AppConfig):
    """Hardening that belongs to no domain app: sign-in auditing, file-type sniffing."""

    name = "flowdesk.security"
    label = "security"

    def ready(self) -> None:
        from flowdesk.security import auth_events

        auth_events.connect()
