"""How the engine's answers become rows: the ticket lock, the state, tasks, candidates and the
history events. Shared by the actions in actions.py; nothing here checks permissions."""

from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Max
from django.utils import timezone

from flowdesk import engine
from flowdesk.audit.recording import lock_chain, record_ticket_events
from flowdesk.catalog.models import Service
from flowdesk.directory.resolver import DjangoDirectory
from flowdesk.tickets.candidates import add_participants, clear_candidates, set_candidates
from flowdesk.tickets.models import Event, Task, Ticket
from flowdesk.tickets.signals import ticket_events

User = AbstractBaseUser


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def lock_ticket(pk: int) -> Ticket:
    """Lock the ticket, then the audit chain (see lock_chain for why in this order)."""
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("version", "service", "business", "requester")
        .get(pk=pk)
    )
    lock_chain()
    return ticket


def engine_context(ticket: Ticket) -> engine.Context:
    """What the engine needs to know of the ticket's world, as of now."""
    return engine.Context(
        now=iso(timezone.now()),
        requester=ticket.requester.get_username(),
        business=ticket.business.key if ticket.business_id else None,
        directory=DjangoDirectory(),
        service_owners=owner_names(ticket.service),
    )


def owner_names(service: Service) -> tuple[str, ...]:
    return tuple(service.owners.order_by("username").values_list("username", flat=True))


def record_result(
    ticket: Ticket,
    result: engine.Result,
    *,
    actor: User | None,
    kind: str,
    node: str = "",
    task_key: int | None = None,
    comment: str = "",
    source: str,
    extra: dict | None = None,
) -> None:
    """Persist what the engine decided: state, tasks, candidates and the history events.

    `actor` None: the system acted (a timer fired, an automation call answered)."""
    data: dict = {"source": source, **(extra or {})}
    if comment:
        data["comment"] = comment
    events = [(kind, actor, node, task_key, data)]
    users = _effect_users(result.effects)
    for effect in result.effects:
        if isinstance(effect, engine.NodeCompleted) and effect.node == node:
            data["values"], data["changes"] = effect.values, effect.changes
        elif isinstance(effect, engine.TaskOpened):
            _open_task(ticket, effect, users)
            events.append(
                (
                    "assigned",
                    None,
                    effect.node,
                    effect.task,
                    {
                        "candidates": list(effect.candidates),
                        "assignee": effect.assignee,
                    },
                )
            )
        elif isinstance(effect, engine.TaskClosed):
            _close_task(ticket, effect, users)
        elif isinstance(effect, engine.NodeSkipped):
            events.append(("skipped", None, effect.node, None, {"reason": effect.reason}))
        elif isinstance(effect, engine.ApprovalDecided):
            events.append(("decided", None, effect.node, None, {"result": effect.result}))
        elif isinstance(effect, engine.TicketEnded):
            events.append(
                (
                    "ended",
                    None,
                    "",
                    None,
                    {
                        "status": effect.status,
                        "reason": effect.reason,
                    },
                )
            )
    ticket.state = result.state
    ticket.status = result.state["status"]
    fields = ["state", "status", "updated_at"]
    if ticket.is_ended and ticket.ended_at is None:
        ticket.ended_at = timezone.now()
        fields.append("ended_at")
    ticket.save(update_fields=fields)
    if actor is not None:
        add_participants(ticket.pk, [actor.pk])
    append_events(ticket, events)


def _effect_users(effects: list) -> dict[str, User]:
    names = {getattr(e, "assignee", None) for e in effects} | {
        getattr(e, "by", None) for e in effects
    }
    names.discard(None)
    return {u.get_username(): u for u in get_user_model().objects.filter(username__in=names)}


def _open_task(ticket: Ticket, effect: "engine.TaskOpened", users: dict[str, User]) -> None:
    task = Task.objects.create(
        ticket=ticket,
        key=effect.task,
        node_id=effect.node,
        assignee=users.get(effect.assignee) if effect.assignee else None,
        claim=effect.claim,
    )
    set_candidates(task, effect.candidates, effect.sources)


def _close_task(ticket: Ticket, effect: "engine.TaskClosed", users: dict[str, User]) -> None:
    task = Task.objects.get(ticket=ticket, key=effect.task)
    task.status = Task.Status.CLOSED
    task.outcome = effect.outcome
    task.handled_by = users.get(effect.by) if effect.by else None
    task.closed_at = timezone.now()
    task.save(update_fields=["status", "outcome", "handled_by", "closed_at"])
    clear_candidates(task)


def append_events(ticket: Ticket, events: list[tuple]) -> None:
    """Append events after the ticket's last one; the ticket row lock keeps `seq` gap-free."""
    last = ticket.events.aggregate(seq=Max("seq"))["seq"] or 0
    now = timezone.now()
    created = Event.objects.bulk_create(
        Event(
            ticket=ticket,
            seq=last + i,
            kind=kind,
            actor=actor,
            at=now,
            node_id=node or "",
            task_key=task_key,
            data=data,
        )
        for i, (kind, actor, node, task_key, data) in enumerate(events, start=1)
    )
    record_ticket_events(ticket, events)
    ticket_events.send(sender=Ticket, ticket=ticket, events=created)


def touch(ticket: Ticket) -> None:
    ticket.save(update_fields=["updated_at"])
