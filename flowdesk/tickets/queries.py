"""Read-side answers shared by the web pages and the API: what a user may do on a ticket or
task, and the per-step snapshots of its history. (Writes live in actions.py.)"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from flowdesk import engine
from flowdesk.directory.access import is_flowdesk_admin
from flowdesk.texts import localized
from flowdesk.tickets.access import is_candidate, is_manager
from flowdesk.tickets.models import Event, Follow, Task, TaskCandidate, Ticket
from flowdesk.tickets.persistence import engine_context

# Event kinds that carry the values a person submitted at a step.
VALUE_EVENTS = ("submitted", "completed", "approved", "rejected")


def task_actions(user: AbstractBaseUser, task: Task) -> list[str]:
    """The task actions `user` may take now, in the order a page shows them."""
    return tasks_actions(user, [task])[task.pk]


def tasks_actions(user: AbstractBaseUser, tasks: list[Task]) -> dict[int, list[str]]:
    """`task_actions` for a page of tasks in a fixed number of queries (tasks come with their
    ticket and version selected)."""
    candidate_of = set(
        TaskCandidate.objects.filter(user=user, task__in=tasks).values_list("task_id", flat=True)
    )
    admin = is_flowdesk_admin(user)
    owned = set(
        user.owned_services.filter(pk__in={t.ticket.service_id for t in tasks}).values_list(
            "pk", flat=True
        )
    )
    return {
        task.pk: _task_actions(
            task, user, task.pk in candidate_of, admin or task.ticket.service_id in owned
        )
        for task in tasks
    }


def barred_reason(user: AbstractBaseUser, task: Task) -> str | None:
    """Why separation of duties keeps `user` from handling the open task, or None (no query
    when the task comes with its ticket, version and requester)."""
    ticket = task.ticket
    if task.status != Task.Status.OPEN or ticket.status != Ticket.Status.RUNNING:
        return None
    return engine.barred(
        ticket.version.definition,
        ticket.state,
        task.key,
        user.get_username(),
        requester=ticket.requester.get_username(),
    )


def override_actions(user: AbstractBaseUser, task: Task) -> list[str]:
    """What a Flowdesk admin who handles a task separation of duties bars them from may do by
    overriding it (with a reason); empty for everyone else."""
    if task.needs_claim or not is_flowdesk_admin(user) or barred_reason(user, task) is None:
        return []
    return _decisions(task) if is_candidate(task, user) else []


def _decisions(task: Task) -> list[str]:
    node = task.ticket.version.definition.node(task.node_id)
    return ["approve", "reject"] if node.type == "approval" else ["complete"]


def _task_actions(task: Task, user: AbstractBaseUser, candidate: bool, manager: bool) -> list[str]:
    ticket = task.ticket
    if task.status != Task.Status.OPEN or ticket.status != Ticket.Status.RUNNING:
        return []
    if ticket.version.definition.node(task.node_id).automation is not None:
        return []  # the system acts; people step in by the step's own (automation) actions
    if task.needs_claim:
        return (["claim"] if candidate else []) + (["transfer"] if candidate or manager else [])
    actions = []
    if candidate:
        if barred_reason(user, task) is None:
            actions += _decisions(task)
        if engine.return_targets(ticket.version.definition, ticket.state, task.key):
            actions.append("return")
    if candidate or manager:
        actions.append("transfer")
    return actions


def return_targets(task: Task) -> list[str]:
    """Earlier steps the task may send the ticket back to."""
    return engine.return_targets(task.ticket.version.definition, task.ticket.state, task.key)


def ticket_actions(user: AbstractBaseUser, ticket: Ticket) -> list[str]:
    """The ticket-level actions `user` may take now."""
    following = Follow.objects.filter(ticket=ticket, user=user).exists()
    actions = ["comment", "unfollow" if following else "follow"]
    running = ticket.status == Ticket.Status.RUNNING
    if running and (ticket.requester_id == user.pk or following):
        actions.append("urge")
    defn = ticket.version.definition
    context = engine_context(ticket)
    if engine.can_withdraw(defn, ticket.state, context, user.get_username()):
        actions.append("withdraw")
    if is_manager(ticket, user, context.service_owners):
        if running:
            actions.append("suspend")
        if ticket.status == Ticket.Status.SUSPENDED:
            actions.append("resume")
        if not ticket.is_ended:
            actions.append("terminate")
    return actions


@dataclass(frozen=True)
class Snapshot:
    """What one person submitted at one step: kept as it was, whatever came later."""

    node: str
    node_name: str
    kind: str
    by: str
    at: datetime
    values: dict


def snapshots(ticket: Ticket, events: list[Event] | None = None) -> list[Snapshot]:
    """`events`: the ticket's `history` when the caller has it already (no query then)."""
    defn = ticket.version.definition
    if events is None:
        events = list(history(ticket).filter(kind__in=VALUE_EVENTS))
    return [
        Snapshot(
            node=event.node_id,
            node_name=localized(defn.node(event.node_id).name, event.node_id),
            kind=event.kind,
            by=event.actor.get_username(),
            at=event.at,
            values=event.data.get("values", {}),
        )
        for event in events
        if event.kind in VALUE_EVENTS
    ]


def end_reason(ticket: Ticket, events: list[Event] | None = None) -> str | None:
    """Why the ticket ended ("finished", "rejected at coordinate", ...), None while open.
    `events`: the ticket's `history` when the caller has it already (no query then)."""
    if not ticket.is_ended:
        return None
    if events is None:
        event = ticket.events.filter(kind="ended").order_by("-seq").first()
    else:
        event = next((e for e in reversed(events) if e.kind == "ended"), None)
    return event.data.get("reason") if event else None


def current_steps(ticket: Ticket) -> list[tuple[str, str]]:
    """(node id, localized name) of the steps the ticket waits at."""
    defn = ticket.version.definition
    return [
        (node_id, localized(defn.node(node_id).name, node_id))
        for node_id in engine.current_nodes(ticket.state)
    ]


def history(ticket: Ticket) -> QuerySet[Event]:
    return ticket.events.select_related("actor").order_by("seq")
