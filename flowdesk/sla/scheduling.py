"""Writing, pausing, resuming and cancelling a ticket's timers, inside the transaction of the
ticket action that caused it (see receivers.py); firing them is actions.do_fire_timer.

Due times count from the moment the step opened: in a calendar's working hours when the node
names one, else on the wall clock. A suspension keeps the working time a timer had left, and
resuming counts it again from then, so a ticket's clock stands still while it is suspended.
"""

from collections.abc import Iterable
from datetime import datetime
from functools import cache

from django.utils import timezone

from flowdesk import engine
from flowdesk.sla.models import Timer, WorkCalendar
from flowdesk.tickets.models import Task, Ticket
from flowdesk.tickets.persistence import append_events

Kind = Timer.Kind


@cache
def has_timers(defn: engine.Definition) -> bool:
    """Whether any step of the workflow can have a timer (if not, tickets cost no query)."""
    return any(_timed(defn, node) for node in defn.nodes.values())


def calendars_named(names: Iterable[str]) -> dict[str, engine.WorkCalendar]:
    """The engine calendars of these names (unknown ones are left out); no query for none."""
    wanted = {name for name in names if name}
    if not wanted:
        return {}
    return {cal.name: cal.to_engine() for cal in WorkCalendar.objects.filter(name__in=wanted)}


def remind_every(defn: engine.Definition, node: engine.Node) -> int | None:
    """Seconds between to-do reminders at a step people handle; None for none."""
    return defn.notify_for(node.id).remind_every if node.human else None


def open_steps(ticket: Ticket, tasks: Iterable[Task]) -> None:
    """Write the timers of steps that just opened; say in the history what could not be timed
    as the workflow asks (an unknown calendar, an empty datetime field)."""
    defn = ticket.version.definition
    tasks = [task for task in tasks if _timed(defn, defn.node(task.node_id))]
    if not tasks:
        return
    names = {name for task in tasks for name in _calendar_names(defn.node(task.node_id))}
    calendars = calendars_named(names)
    now = timezone.now()
    timers, problems, told = [], [], set()
    for task in tasks:
        node = defn.node(task.node_id)
        for name in _calendar_names(node):
            if name not in calendars and (node.id, name) not in told:  # once per step
                told.add((node.id, name))
                problems.append((task, {"problem": "unknown_calendar", "calendar": name}))
        step_timers, problem = _step_timers(ticket, task, node, calendars, now)
        timers += step_timers
        if problem:
            problems.append((task, problem))
    Timer.objects.bulk_create(timers)
    if problems:
        append_events(
            ticket,
            [
                ("timer_problem", None, task.node_id, task.key, {**data, "source": "system"})
                for task, data in problems
            ],
        )


def _timed(defn: engine.Definition, node: engine.Node) -> bool:
    return bool(node.sla or node.timer or remind_every(defn, node))


def is_timed(defn: engine.Definition, node_id: str) -> bool:
    """Whether a step of this node can have timers (an SLA, a timer node, reminders)."""
    return _timed(defn, defn.node(node_id))


def _calendar_names(node: engine.Node) -> list[str]:
    return [option.calendar for option in (node.sla, node.timer) if option and option.calendar]


def _step_timers(
    ticket: Ticket,
    task: Task,
    node: engine.Node,
    calendars: dict[str, engine.WorkCalendar],
    now: datetime,
) -> tuple[list[Timer], dict | None]:
    """The new timers of one open step, and a problem to record (or None)."""
    defn = ticket.version.definition
    timers: list[Timer] = []

    def add(kind: str, due_at: datetime, calendar: str | None) -> None:
        known = calendar if calendar in calendars else ""  # unknown: the wall clock
        timers.append(
            Timer(
                ticket=ticket, task=task, node_id=node.id, kind=kind, due_at=due_at, calendar=known
            )
        )

    sla = node.sla
    sla_calendar = calendars.get(sla.calendar) if sla and sla.calendar else None
    if sla is not None:
        if (warning := sla.warning(now, sla_calendar)) is not None:
            add(Kind.SLA_WARNING, warning, sla.calendar)
        add(Kind.SLA_BREACH, sla.deadline(now, sla_calendar), sla.calendar)
    if every := remind_every(defn, node):
        calendar = sla.calendar if sla else None
        add(Kind.REMINDER, engine.add_working_time(now, every, sla_calendar), calendar)
    problem = None
    if (timer := node.timer) is not None:
        timer_calendar = calendars.get(timer.calendar) if timer.calendar else None
        due_at = timer.due_at(ticket.values, now, timer_calendar)
        if due_at is None:
            problem = {"problem": "no_datetime", "field": timer.until_field}
        else:
            add(Kind.TIMER_NODE, due_at, timer.calendar)
    return timers, problem


def next_reminder(timer: Timer, every: int) -> Timer:
    """The reminder after `timer` (which just fired), `every` seconds of its calendar's time on."""
    calendar = calendars_named([timer.calendar]).get(timer.calendar)
    return Timer.objects.create(
        ticket_id=timer.ticket_id,
        task_id=timer.task_id,
        node_id=timer.node_id,
        kind=Kind.REMINDER,
        due_at=engine.add_working_time(timezone.now(), every, calendar),
        calendar=timer.calendar,
    )


def pause(ticket: Ticket, timers: Iterable[Timer] | None = None) -> None:
    """Stop the clocks of the ticket's pending timers (or of `timers`), keeping the working
    time each had left; a timer node's fixed moment stays as it is."""
    timers = list(ticket.timers.filter(status=Timer.Status.PENDING) if timers is None else timers)
    defn = ticket.version.definition
    calendars = calendars_named(timer.calendar for timer in timers)
    now = timezone.now()
    for timer in timers:
        timer.status = Timer.Status.PAUSED
        timer.remaining_seconds = (
            None
            if _fixed_moment(defn, timer)
            else engine.working_seconds_between(now, timer.due_at, calendars.get(timer.calendar))
        )
    Timer.objects.bulk_update(timers, ["status", "remaining_seconds"])


def resume(ticket: Ticket) -> None:
    """Start the paused clocks again: each is due once its remaining working time has passed."""
    timers = list(ticket.timers.filter(status=Timer.Status.PAUSED))
    calendars = calendars_named(timer.calendar for timer in timers)
    now = timezone.now()
    for timer in timers:
        if timer.remaining_seconds is not None:
            calendar = calendars.get(timer.calendar)
            timer.due_at = engine.add_working_time(now, timer.remaining_seconds, calendar)
        timer.status, timer.remaining_seconds = Timer.Status.PENDING, None
    Timer.objects.bulk_update(timers, ["status", "due_at", "remaining_seconds"])


def _fixed_moment(defn: engine.Definition, timer: Timer) -> bool:
    """A timer node waiting for a datetime field: suspending the ticket does not move it."""
    node = defn.nodes.get(timer.node_id)
    return timer.kind == Kind.TIMER_NODE and bool(node and node.timer and node.timer.until_field)


def cancel_timers(tasks: list[Task]) -> None:
    """Cancel the live timers of these (closed) steps (one UPDATE)."""
    Timer.objects.live().filter(task__in=tasks).update(
        status=Timer.Status.CANCELLED, remaining_seconds=None
    )
