"""How the engine's answers become rows: the ticket lock, the state, tasks, candidates and the
history events. Shared by the actions in actions.py; nothing here checks permissions."""

from collections.abc import Sequence
from datetime import UTC, datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Max
from django.utils import timezone

from flowdesk import engine
from flowdesk.audit.recording import record_ticket_events
from flowdesk.catalog.models import Service
from flowdesk.directory.locks import hold_directory_shared
from flowdesk.directory.resolver import DjangoDirectory
from flowdesk.tickets.candidates import (
    add_candidates,
    add_participants,
    clear_candidates,
    users_by_name,
)
from flowdesk.tickets.models import Event, Task, Ticket
from flowdesk.tickets.signals import ticket_events

User = AbstractBaseUser


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def lock_ticket(pk: int) -> Ticket:
    """Lock the ticket, then the directory, shared (flowdesk.directory.locks: the lock order).

    FOR NO KEY UPDATE, not FOR UPDATE: rows that merely point at the ticket (a membership
    change adding the new member as a participant) need not wait for this action – with FOR
    UPDATE such an insert, made under the directory lock, would wait for a ticket action that
    waits for the directory lock."""
    ticket = (
        Ticket.objects.select_for_update(of=("self",), no_key=True)
        .select_related("version", "service", "business", "requester")
        .get(pk=pk)
    )
    hold_directory_shared()
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
    task: Task | None = None,
    comment: str = "",
    source: str,
    extra: dict | None = None,
) -> None:
    """Persist what the engine decided: state, tasks, candidates and the history events.

    `actor` None: the system acted (a timer fired, an automation call answered). `task`: the
    task acted on, as read under the ticket lock (saves reading it again to close it)."""
    task_key = task.key if task is not None else None
    data: dict = {"source": source, **(extra or {})}
    if comment:
        data["comment"] = comment
    events = [(kind, actor, node, task_key, data)]
    users = _effect_users(result.effects, actor)
    opened: dict[int, tuple[Task, engine.TaskOpened]] = {}
    closed: list[Task] = []
    for effect in result.effects:
        if isinstance(effect, engine.NodeCompleted) and effect.node == node:
            data["values"], data["changes"] = effect.values, effect.changes
        elif isinstance(effect, engine.TaskOpened):
            opened[effect.task] = (_open_task(ticket, effect, users), effect)
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
            if effect.task in opened:  # opened by this same result: no candidate rows yet
                closing = opened.pop(effect.task)[0]
            else:
                acted_on = task if task is not None and task.key == effect.task else None
                closing = acted_on or Task.objects.get(ticket=ticket, key=effect.task)
                clear_candidates(closing)
            _close_task(closing, effect, users)
            closed.append(closing)
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
    # Candidates of the tasks still open, all at once: role and business keys resolved once.
    participants = add_candidates(
        [(t, effect.candidates, effect.sources) for t, effect in opened.values()],
        users,
        business=ticket.business,
    )
    ticket.state = result.state
    ticket.status = result.state["status"]
    fields = ["state", "status", "updated_at"]
    if ticket.is_ended and ticket.ended_at is None:
        ticket.ended_at = timezone.now()
        fields.append("ended_at")
    ticket.save(update_fields=fields)
    add_participants(ticket.pk, [*([actor.pk] if actor is not None else []), *participants])
    append_events(ticket, events, closed=closed)


def _effect_users(effects: list, actor: User | None) -> dict[str, int]:
    """Ids of the users the effects name (assignees, handlers, candidates), in one query."""
    names = set()
    for effect in effects:
        names.update(filter(None, (getattr(effect, "assignee", None), getattr(effect, "by", None))))
        if isinstance(effect, engine.TaskOpened):
            names.update(effect.candidates)
    known = {actor.get_username(): actor.pk} if actor is not None else {}
    return known | users_by_name(names - set(known))


def _open_task(ticket: Ticket, effect: "engine.TaskOpened", users: dict[str, int]) -> Task:
    return Task.objects.create(
        ticket=ticket,
        key=effect.task,
        node_id=effect.node,
        assignee_id=users.get(effect.assignee) if effect.assignee else None,
        claim=effect.claim,
    )


def _close_task(task: Task, effect: "engine.TaskClosed", users: dict[str, int]) -> None:
    task.status = Task.Status.CLOSED
    task.outcome = effect.outcome
    task.handled_by_id = users.get(effect.by) if effect.by else None
    task.closed_at = timezone.now()
    task.save(update_fields=["status", "outcome", "handled_by", "closed_at"])


def append_events(ticket: Ticket, events: list[tuple], *, closed: Sequence[Task] = ()) -> None:
    """Append events after the ticket's last one; the ticket row lock keeps `seq` gap-free.
    `closed`: the tasks the action closed (steps close without an event of their own)."""
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
    ticket_events.send(sender=Ticket, ticket=ticket, events=created, closed=list(closed))
    # Last: the audit chain stays locked from here to the commit, one action at a time.
    record_ticket_events(ticket, events)


def touch(ticket: Ticket) -> None:
    ticket.save(update_fields=["updated_at"])
