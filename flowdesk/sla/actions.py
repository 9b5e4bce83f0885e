"""State changes of SLAs: saving work calendars, and firing timers.

`do_fire_timer` is how a timer takes effect, exactly once however many workers try: it locks
the ticket, reads the timer again under a row lock, and only a pending, due timer of an open
step fires; it is marked fired in the same transaction as its effects (docs/sla.md).
"""

from collections.abc import Callable, Iterable
from datetime import date, time

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from flowdesk import engine
from flowdesk.audit.recording import record_saved, snapshot
from flowdesk.notify.rules import notify
from flowdesk.sla import scheduling
from flowdesk.sla.access import can_manage_calendars
from flowdesk.sla.models import Timer, WorkCalendar
from flowdesk.tickets.candidates import set_candidates
from flowdesk.tickets.models import Task, Ticket
from flowdesk.tickets.persistence import (
    append_events,
    engine_context,
    iso,
    lock_ticket,
    record_result,
    touch,
)

# --- work calendars ---------------------------------------------------------------------------


def do_save_calendar(
    name: str,
    *,
    timezone: str = "UTC",
    weekdays: Iterable[int] = (0, 1, 2, 3, 4),
    start: time = time(9),
    end: time = time(18),
    holidays: Iterable[date | str] = (),
    actor: AbstractBaseUser | None,
) -> WorkCalendar:
    """Create or update a work calendar; new due times count in its hours at once (timers
    already set keep theirs until a suspension recomputes them)."""
    if actor is not None and not can_manage_calendars(actor):
        raise PermissionDenied("Only a Flowdesk admin may manage work calendars.")
    with transaction.atomic(durable=True):
        calendar = WorkCalendar.objects.select_for_update().filter(name=name).first()
        calendar = calendar or WorkCalendar(name=name)
        before = snapshot("work_calendar", calendar)
        calendar.timezone = timezone
        calendar.weekdays = sorted(set(weekdays))
        calendar.start, calendar.end = start, end
        calendar.holidays = sorted({str(day) for day in holidays})
        calendar.full_clean()
        calendar.save()
        record_saved("work_calendar", calendar, before, actor=actor)
    return calendar


# --- firing timers ----------------------------------------------------------------------------


def do_fire_timer(timer: Timer) -> bool:
    """Fire `timer` if it is still due: True when it fired, False when there was nothing to do
    (fired or cancelled already, moved later, its step closed, the ticket suspended)."""
    with transaction.atomic(durable=True):
        ticket = lock_ticket(timer.ticket_id)
        timer = (
            Timer.objects.select_for_update(of=("self",)).select_related("task").get(pk=timer.pk)
        )
        now = timezone.now()
        if timer.status != Timer.Status.PENDING or timer.due_at > now:
            return False
        if ticket.is_ended or timer.task.status != Task.Status.OPEN:
            timer.status = Timer.Status.CANCELLED
            timer.save(update_fields=["status"])
            return False
        if ticket.status == Ticket.Status.SUSPENDED:  # its clock should have stopped: stop it
            scheduling.pause(ticket, [timer])
            return False
        timer.status, timer.fired_at = Timer.Status.FIRED, now
        timer.save(update_fields=["status", "fired_at"])
        EFFECTS[timer.kind](ticket, timer)
    return True


def _warn(ticket: Ticket, timer: Timer) -> None:
    """The step is nearly due: tell its handlers."""
    task = timer.task
    breach = task.timers.filter(kind=Timer.Kind.SLA_BREACH).exclude(status=Timer.Status.CANCELLED)
    due_at = breach.values_list("due_at", flat=True).first()
    data = {"due_at": iso(due_at) if due_at else None}
    append_events(ticket, [("sla_warning", None, timer.node_id, task.key, _system(data))])
    notify(ticket, "sla_warning", _handlers(task), node=timer.node_id, key=_key(timer), extra=data)
    touch(ticket)


def _breach(ticket: Ticket, timer: Timer) -> None:
    """The step is overdue: tell its handlers and the escalation, and with `reassign` give the
    step to the escalation (as a transfer would)."""
    task = timer.task
    defn = ticket.version.definition
    sla = defn.node(timer.node_id).sla
    escalation = engine.resolve_operator_specs(
        defn, sla.escalate_to, ticket.state, engine_context(ticket)
    )
    handlers = _handlers(task)
    data = {"escalate_to": escalation.users, "gaps": escalation.gaps}
    events = [("sla_breach", None, timer.node_id, task.key, _system(data))]
    if sla.reassign and escalation.users:
        _reassign(task, escalation)
        events.append(
            ("escalated", None, timer.node_id, task.key, _system({"to": escalation.users}))
        )
    append_events(ticket, events)
    audience = handlers + [user for user in escalation.users if user not in handlers]
    notify(ticket, "sla_breach", audience, node=timer.node_id, key=_key(timer), extra=data)
    touch(ticket)


def _reassign(task: Task, escalation: engine.Resolved) -> None:
    """Like do_transfer_task: one person becomes the step's assignee; several share it (and
    follow their roles' membership, as a step's operators do)."""
    users = escalation.users
    if len(users) == 1:
        task.assignee = get_user_model().objects.get(username=users[0])
        set_candidates(task, users)
    else:
        task.assignee = None
        set_candidates(task, users, escalation.sources)
    task.save(update_fields=["assignee"])


def _remind(ticket: Ticket, timer: Timer) -> None:
    """The to-do is still open: tell its handlers again, and set the next reminder."""
    defn = ticket.version.definition
    notify(ticket, "reminder", _handlers(timer.task), node=timer.node_id, key=_key(timer))
    every = scheduling.remind_every(defn, defn.node(timer.node_id))
    if every:
        scheduling.next_reminder(timer, every)


def _continue(ticket: Ticket, timer: Timer) -> None:
    """A timer node's time has come: the system completes its step and the ticket moves on.
    If the workflow cannot go on (nobody for the next step...), the step stays open for its
    operators and the history says why."""
    task = timer.task
    defn = ticket.version.definition
    try:
        result = engine.complete(
            defn,
            ticket.state,
            engine_context(ticket),
            task=task.key,
            actor=engine.SYSTEM_ACTOR,
            values={},
        )
    except engine.EngineError as error:
        data = {"problem": "not_continued", "error": str(error)}
        append_events(ticket, [("timer_problem", None, timer.node_id, task.key, _system(data))])
        touch(ticket)
        return
    record_result(
        ticket,
        result,
        actor=None,
        kind="timer_fired",
        node=timer.node_id,
        task=task,
        source="system",
        extra={"due_at": iso(timer.due_at)},
    )


EFFECTS: dict[str, Callable[[Ticket, Timer], None]] = {
    Timer.Kind.SLA_WARNING: _warn,
    Timer.Kind.SLA_BREACH: _breach,
    Timer.Kind.REMINDER: _remind,
    Timer.Kind.TIMER_NODE: _continue,
}


def _handlers(task: Task) -> list[str]:
    return list(task.candidates.order_by("user__username").values_list("user__username", flat=True))


def _key(timer: Timer) -> str:
    """The notification's idempotency key part: one message per timer and recipient."""
    return f"timer{timer.pk}"


def _system(data: dict) -> dict:
    return {**data, "source": "system"}
