from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "flowdesk.sla"
    label = "sla"

    def ready(self) -> None:
        from flowdesk import worker
        from flowdesk.sla import receivers, sweeps
        from flowdesk.tickets.signals import ticket_events

        ticket_events.connect(receivers.on_ticket_events, dispatch_uid="sla")
        worker.register_sweep("timers", sweeps.fire_due)
