"""Who is told what when a ticket changes: ticket events become outbox deliveries.

Runs inside the action's transaction (a `ticket_events` receiver). The workflow's notification
strategy (per node, else the workflow's settings) decides the channels and events.
"""

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse

from flowdesk import engine
from flowdesk.notify.endpoints import chat_deliveries, webhook_deliveries
from flowdesk.notify.models import Delivery
from flowdesk.notify.outbox import enqueue
from flowdesk.tickets.models import Event, Ticket

User = AbstractBaseUser

# ticket event kind -> notification event, for events that tell the requester and followers
OUTCOME_EVENTS = {"approved": "approved", "rejected": "rejected", "returned": "returned"}
ENDED_EVENTS = frozenset({"finished", "terminated", "withdrawn"})


def on_ticket_events(sender: object, *, ticket: Ticket, events: list[Event], **_: object) -> None:
    for event in events:
        for name, users in _audience(ticket, event):
            notify(ticket, name, users, node=event.node_id, key=f"e{event.seq}", event=event)
    enqueue(webhook_deliveries(ticket, events))


def _audience(ticket: Ticket, event: Event) -> Iterable[tuple[str, Iterable[str | User]]]:
    """(notification event, recipients) pairs for one ticket event."""
    data = event.data
    if event.kind == "assigned" and not _is_system_node(ticket, event.node_id):
        yield "task_opened", data.get("candidates", [])
    elif event.kind in OUTCOME_EVENTS:
        yield OUTCOME_EVENTS[event.kind], _watchers(ticket, exclude=event.actor_id)
    elif event.kind == "transferred":
        yield "transferred", [data["to"]]
    elif event.kind == "urged":
        yield "urged", data.get("handlers", [])
    elif event.kind == "ended" and data.get("status") in ENDED_EVENTS:
        yield data["status"], _watchers(ticket, exclude=event.actor_id)


def _is_system_node(ticket: Ticket, node_id: str) -> bool:
    node = ticket.version.definition.nodes.get(node_id)
    return node is not None and node.system


def _watchers(ticket: Ticket, exclude: int | None) -> list[User]:
    """The requester and the followers, but not whoever caused the event."""
    people = {ticket.requester.pk: ticket.requester}
    people.update((f.user.pk, f.user) for f in ticket.follows.select_related("user"))
    people.pop(exclude, None)
    return list(people.values())


def strategy(ticket: Ticket, node_id: str) -> "engine.Notify":
    defn = ticket.version.definition
    return defn.notify_for(node_id if node_id in defn.nodes else None)


def notify(
    ticket: Ticket,
    name: str,
    users: Iterable[str | User],
    *,
    node: str,
    key: str,
    event: Event | None = None,
    extra: dict | None = None,
) -> list[Delivery]:
    """Record the e-mails for notification `name` to `users` (names or users), and the chat
    messages, as the ticket's strategy allows. `key` makes the idempotency key unique per ticket
    (e.g. the event seq)."""
    plan = strategy(ticket, node)
    if name not in plan.events:
        return []
    payload = message_context(ticket, name, node, event, extra)
    rows = chat_deliveries(ticket, plan.channels, payload, key=f"t{ticket.pk}:{key}:{name}")
    rows += [
        Delivery(
            key=f"t{ticket.pk}:{key}:{name}:email:{user.pk}",
            channel=Delivery.Channel.EMAIL,
            event=name,
            ticket=ticket,
            recipient=user,
            address=user.email,
            payload=payload,
        )
        for user in (_users(users) if "email" in plan.channels else [])
        if user.email and user.is_active
    ]
    return enqueue(rows)


def _users(users: Iterable[str | User]) -> list[User]:
    given = list(users)
    names = [u for u in given if isinstance(u, str)]
    found = list(get_user_model().objects.filter(username__in=names)) if names else []
    return found + [u for u in given if not isinstance(u, str)]


def message_context(
    ticket: Ticket, name: str, node: str, event: Event | None, extra: dict | None
) -> dict:
    """What a message about the ticket says, frozen at the event (plain JSON): the key fields
    are the submitted ones (for a release: package path, MD5, scope and planned time)."""
    defn = ticket.version.definition
    values = ticket.values
    start_fields = defn.node(defn.start).fields
    step = defn.nodes.get(node)
    data = event.data if event is not None else {}
    return {
        "event": name,
        "serial": ticket.sn,
        "title": ticket.title,
        "service": {"en": ticket.service.name, "zh": ticket.service.name_zh},
        "status": ticket.status,
        "requester": ticket.requester.get_username(),
        "node": node,
        "node_name": step.name if step else None,
        "actor": event.actor.get_username() if event is not None and event.actor else None,
        "comment": data.get("comment", ""),
        "path": reverse("tickets:ticket_detail", args=[ticket.sn]),
        "fields": [
            {"key": key, "label": defn.fields[key].get("label"), "value": values.get(key)}
            for key in start_fields
            if key in values
        ],
        **(extra or {}),
    }
