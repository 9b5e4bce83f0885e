from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "flowdesk.notify"
    label = "notify"

    def ready(self) -> None:
        from flowdesk import worker
        from flowdesk.notify import email, endpoints, outbox, rules
        from flowdesk.notify.models import Delivery
        from flowdesk.tickets.signals import ticket_events

        ticket_events.connect(rules.on_ticket_events, dispatch_uid="notify")
        worker.register_sweep("deliveries", outbox.send_due)
        outbox.register_sender(Delivery.Channel.ENDPOINT, endpoints.send)
        outbox.register_sender(
            Delivery.Channel.EMAIL, email.send_email, prepare=email.prepare_emails
        )
