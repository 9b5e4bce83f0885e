"""Timers follow the ticket's history: a `ticket_events` receiver (connected in SlaConfig.ready),
so they are written in the transaction of the action, with the ticket locked.

- "assigned" (a step opened): its SLA warning and breach, reminders, a timer node's wait;
- "suspended" / "resumed": the ticket's clocks stop and start again;
- steps the action closed (they close without an event of their own): their live timers are
  cancelled (one UPDATE, only when a closed step can have timers); `do_fire_timer` checks
  again when it fires.
"""

from flowdesk.sla import scheduling
from flowdesk.tickets.models import Event, Task, Ticket


def on_ticket_events(
    sender: object, *, ticket: Ticket, events: list[Event], closed: list[Task], **_: object
) -> None:
    defn = ticket.version.definition
    if not scheduling.has_timers(defn):
        return
    if timed := [task for task in closed if scheduling.is_timed(defn, task.node_id)]:
        scheduling.cancel_timers(timed)
    opened = [
        event.task_key
        for event in events
        if event.kind == "assigned" and scheduling.is_timed(defn, event.node_id)
    ]
    if opened:
        scheduling.open_steps(ticket, Task.objects.filter(ticket=ticket, key__in=opened))
    for event in events:
        if event.kind == "suspended":
            scheduling.pause(ticket)
        elif event.kind == "resumed":
            scheduling.resume(ticket)
