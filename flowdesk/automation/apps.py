from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "flowdesk.automation"
    label = "automation"

    def ready(self) -> None:
        from flowdesk import worker
        from flowdesk.automation import actions, runner
        from flowdesk.tickets.signals import ticket_events

        ticket_events.connect(actions.on_ticket_events, dispatch_uid="automation")
        worker.register_sweep("automation", runner.sweep)
