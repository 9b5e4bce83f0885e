"""Timers follow the ticket's history: a `ticket_events` receiver (connected in SlaConfig.ready),
so they are written in the transaction of the action, with the ticket locked.

- "assigned" (a step opened): its SLA warning and breach, reminders, a timer node's wait;
- "suspended" / "resumed": the ticket's clocks stop and start again;
- after every action: the timers of steps that closed are cancelled. Steps close inside
  `record_result` without an event of their own, so the receiver checks after each action (one
  UPDATE, and none for workflows without timers); `do_fire_timer` checks again when it fires.
"""

from flowdesk.sla import scheduling
from flowdesk.tickets.models import Event, Task, Ticket


def on_ticket_events(sender: object, *, ticket: Ticket, events: list[Event], **_: object) -> None:
    if not scheduling.has_timers(ticket.version.definition):
        return
    scheduling.cancel_closed(ticket)
    opened = [event.task_key for event in events if event.kind == "assigned"]
    if opened:
        scheduling.open_steps(ticket, Task.objects.filter(ticket=ticket, key__in=opened))
    for event in events:
        if event.kind == "suspended":
            scheduling.pause(ticket)
        elif event.kind == "resumed":
            scheduling.resume(ticket)
