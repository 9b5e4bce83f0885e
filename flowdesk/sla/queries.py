"""Read-side answers for lists and the ticket page: which tickets are overdue or warned, and
each open step's due time and SLA state."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from flowdesk.sla.models import Timer
from flowdesk.sla.scheduling import has_timers
from flowdesk.tickets.models import Task

Kind, Status = Timer.Kind, Timer.Status


def _open_step_timers(kind: str) -> QuerySet[Timer]:
    return Timer.objects.filter(ticket=OuterRef("pk"), kind=kind, task__status=Task.Status.OPEN)


def overdue() -> Exists:
    """An open step of the ticket is past its due time (fired, or due and about to fire)."""
    breached = Q(status=Status.FIRED) | Q(status=Status.PENDING, due_at__lte=timezone.now())
    return Exists(_open_step_timers(Kind.SLA_BREACH).filter(breached))


def warned() -> Exists:
    """An open step of the ticket has had its SLA warning."""
    return Exists(_open_step_timers(Kind.SLA_WARNING).filter(status=Status.FIRED))


def with_sla_flags(tickets: QuerySet) -> QuerySet:
    """Tickets with `sla_overdue` and `sla_warned`, for the badges of lists (no extra query)."""
    return tickets.annotate(sla_overdue=overdue(), sla_warned=warned())


@dataclass(frozen=True)
class StepTime:
    """What the ticket page says of an open step's time: its SLA state and due time, or when
    a timer step continues."""

    state: str  # on_time | warned | overdue | paused | waiting (a timer step)
    due_at: datetime | None
    remaining_seconds: int | None = None  # while paused


def step_time(task: Task) -> StepTime | None:
    """The open step's SLA (or timer) state; None when it has none (no query then for
    workflows without timers)."""
    if not has_timers(task.ticket.version.definition):
        return None
    timers = {t.kind: t for t in task.timers.exclude(status=Status.CANCELLED).order_by("pk")}
    main = timers.get(Kind.SLA_BREACH) or timers.get(Kind.TIMER_NODE)
    if main is None:
        return None
    if main.status == Status.PAUSED:
        fixed = main.remaining_seconds is None  # a timer step waiting for a set moment
        return StepTime("paused", main.due_at if fixed else None, main.remaining_seconds)
    if main.kind == Kind.TIMER_NODE:
        return StepTime("waiting", main.due_at)
    if main.status == Status.FIRED or main.due_at <= timezone.now():
        return StepTime("overdue", main.due_at)
    warning = timers.get(Kind.SLA_WARNING)
    state = "warned" if warning and warning.status == Status.FIRED else "on_time"
    return StepTime(state, main.due_at)
