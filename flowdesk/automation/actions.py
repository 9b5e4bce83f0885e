"""State changes of automation steps: starting runs, their outcome, and what people do by hand.

Each `do_*` runs in one durable transaction, locks the ticket, checks that the run (and its
step) is still open, asks the engine, and records the result and the history events with the
run's summary. The system acts with actor None in rows and `engine.SYSTEM_ACTOR` in the engine.
"""

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from flowdesk import engine
from flowdesk.automation.access import may_intervene
from flowdesk.automation.models import AutomationRun
from flowdesk.engine import InvalidValues, NotAllowed
from flowdesk.notify.rules import notify
from flowdesk.tickets.models import Event, Task, TaskCandidate, Ticket
from flowdesk.tickets.persistence import (
    append_events,
    engine_context,
    lock_ticket,
    record_result,
    touch,
)

log = logging.getLogger(__name__)
User = AbstractBaseUser
Status = AutomationRun.Status
MAX_REASON = 10_000


class RunClosed(engine.EngineError):
    """The run ended meanwhile (an answer came, or someone acted by hand)."""

    code = "conflict"

    def __init__(self, run: AutomationRun) -> None:
        super().__init__(f"This automation run is no longer open: it {run.get_status_display()}.")
        self.run = run


# --- starting ---------------------------------------------------------------------------------


def on_ticket_events(
    sender: object, *, ticket: Ticket, events: list[Event], closed: list[Task], **_: object
) -> None:
    """In the action's transaction: a run for every automation step the action opened, and
    runs whose step was closed otherwise (the ticket ended, went back) are cancelled."""
    defn = ticket.version.definition
    automated = {key for key, node in defn.nodes.items() if node.automation is not None}
    if not automated:
        return
    for event in events:
        if event.kind == "assigned" and event.node_id in automated:
            _start_run(ticket, Task.objects.get(ticket=ticket, key=event.task_key), attempt=1)
    if stopped := [task for task in closed if task.node_id in automated]:
        AutomationRun.objects.filter(task__in=stopped, status__in=AutomationRun.OPEN).update(
            status=Status.CANCELLED, finished_at=timezone.now(), leased_until=None, pending=None
        )


def _start_run(ticket: Ticket, task: Task, *, attempt: int) -> AutomationRun:
    automation = ticket.version.definition.node(task.node_id).automation
    run = AutomationRun.objects.create(
        ticket=ticket,
        task=task,
        node_id=task.node_id,
        attempt=attempt,
        action=automation.action,
    )
    transaction.on_commit(lambda: wake(run.pk))
    return run


def wake(run_id: int) -> None:
    """Ask a worker to run it now; if the queue is down, the sweep runs it."""
    from flowdesk.automation.tasks import enqueue_run

    try:
        enqueue_run(run_id)
    except Exception:  # the run row is the truth; the queue only makes it quick
        log.warning("could not enqueue automation run %s; the sweep will run it", run_id)


# --- outcomes (the system) --------------------------------------------------------------------


def do_finish_automation(run: AutomationRun, values: dict, *, source: str = "system") -> Ticket:
    """The call succeeded: the system completes the step with `values` (its outputs, or the
    fields of the callback). InvalidValues when they do not fit the step's fields."""
    with transaction.atomic(durable=True):
        ticket, run = _lock_open_run(run)
        result = engine.complete(
            ticket.version.definition,
            ticket.state,
            engine_context(ticket),
            task=run.task.key,
            actor=engine.SYSTEM_ACTOR,
            values=values,
        )
        _close(run, Status.SUCCEEDED)
        _record(ticket, run, result, None, "automation_succeeded", source)
    return ticket


def do_fail_automation(run: AutomationRun, error: str, *, source: str = "system") -> Ticket:
    """The call failed for good: its operators are told, and by the step's `on_failure` the
    ticket waits at the step (showing the error) or goes back to `return_to`."""
    with transaction.atomic(durable=True):
        ticket, run = _lock_open_run(run)
        candidates = list(
            TaskCandidate.objects.filter(task=run.task).values_list("user__username", flat=True)
        )
        result = engine.fail_automation(
            ticket.version.definition,
            ticket.state,
            engine_context(ticket),
            task=run.task.key,
            reason=error,
        )
        _close(run, Status.FAILED, error=error)
        automation = ticket.version.definition.node(run.node_id).automation
        extra = {"error": error, "on_failure": automation.on_failure}
        if automation.on_failure == "return":
            extra["to"] = automation.return_to
        _record(ticket, run, result, None, "automation_failed", source, extra=extra)
        notify(
            ticket,
            "automation_failed",
            candidates,
            node=run.node_id,
            key=f"run{run.pk}",
            extra={"error": error, "attempt": run.attempt},
        )
    return ticket


# --- by hand ----------------------------------------------------------------------------------


def do_retry_automation(run: AutomationRun, *, actor: User, source: str = "web") -> AutomationRun:
    """Run the step again (a new attempt) after its last run failed."""
    with transaction.atomic(durable=True):
        ticket, run = _lock_for_hand(run, actor, "retry")
        if run.is_open:
            raise NotAllowed("The automation is still running; wait for it or skip the step.")
        attempt = run.task.automation_runs.aggregate(last=Max("attempt"))["last"] + 1
        new = _start_run(ticket, run.task, attempt=attempt)
        data = {"automation": {"run": new.pk, "attempt": attempt}, "source": source}
        append_events(ticket, [("automation_retried", actor, run.node_id, run.task.key, data)])
        touch(ticket)
    return new


def do_skip_automation(
    run: AutomationRun, *, actor: User, reason: str, source: str = "web"
) -> Ticket:
    """Pass the step without its call and without outputs; the reason is recorded."""
    _require_reason(reason, "Say why the step is skipped.")
    return _complete_by_hand(run, actor, {}, reason, "skip", Status.SKIPPED, source)


def do_complete_automation(
    run: AutomationRun, *, actor: User, values: dict, reason: str, source: str = "web"
) -> Ticket:
    """Do the step's work by hand: fill in its fields and complete it, saying why."""
    _require_reason(reason, "Say why the step is completed by hand.")
    return _complete_by_hand(
        run, actor, values, reason, "complete", Status.COMPLETED_BY_HAND, source
    )


def _complete_by_hand(
    run: AutomationRun,
    actor: User,
    values: dict,
    reason: str,
    verb: str,
    status: str,
    source: str,
) -> Ticket:
    with transaction.atomic(durable=True):
        ticket, run = _lock_for_hand(run, actor, verb)
        result = engine.complete(
            ticket.version.definition,
            ticket.state,
            engine_context(ticket),
            task=run.task.key,
            actor=actor.get_username(),
            values=values,
        )
        _close(run, status)
        kind = "automation_skipped" if status == Status.SKIPPED else "completed"
        _record(ticket, run, result, actor, kind, source, comment=reason.strip())
    return ticket


# --- helpers ----------------------------------------------------------------------------------


def _lock_open_run(run: AutomationRun) -> tuple[Ticket, AutomationRun]:
    ticket = lock_ticket(run.ticket_id)
    run = AutomationRun.objects.select_for_update().select_related("task").get(pk=run.pk)
    if not run.is_open:
        raise RunClosed(run)
    if ticket.status != Ticket.Status.RUNNING:
        raise engine.NotRunning(ticket.status)
    return ticket, run


def _lock_for_hand(run: AutomationRun, actor: User, verb: str) -> tuple[Ticket, AutomationRun]:
    """Lock the ticket and the step's latest run; the actor must be one who may step in."""
    ticket = lock_ticket(run.ticket_id)
    run = AutomationRun.objects.select_for_update().select_related("task").get(pk=run.pk)
    if run.task.status != Task.Status.OPEN:
        raise engine.TaskNotOpen(run.task.key, outcome=run.task.outcome or None)
    if ticket.status != Ticket.Status.RUNNING:
        raise engine.NotRunning(ticket.status)
    if not may_intervene(ticket, run.task, actor):
        raise NotAllowed(
            f"Only the operators of this step, a service owner or an admin may {verb} it."
        )
    latest = run.task.automation_runs.aggregate(last=Max("attempt"))["last"]
    if run.attempt != latest:
        raise NotAllowed(f"Attempt {run.attempt} is not the step's latest; act on that one.")
    return ticket, run


def _close(run: AutomationRun, status: str, *, error: str = "") -> None:
    """End the run before the result is recorded (so the events carry its final state). A
    worker still holding it loses its lease: whatever it writes next is refused."""
    run.status = status
    run.finished_at = timezone.now()
    run.leased_until, run.lease = None, ""
    run.pending = None
    fields = ["status", "finished_at", "leased_until", "lease", "pending"]
    if error:
        run.error = error
        fields.append("error")
    run.save(update_fields=fields)


def _record(
    ticket: Ticket,
    run: AutomationRun,
    result: engine.Result,
    actor: User | None,
    kind: str,
    source: str,
    *,
    comment: str = "",
    extra: dict | None = None,
) -> None:
    record_result(
        ticket,
        result,
        actor=actor,
        kind=kind,
        node=run.node_id,
        task=run.task,
        comment=comment,
        source=source,
        extra={"automation": run.summary(), **(extra or {})},
    )


def _require_reason(reason: str, message: str) -> None:
    if not reason or not reason.strip():
        raise InvalidValues({"reason": [message]})
    if len(reason) > MAX_REASON:
        raise InvalidValues({"reason": [f"Enter at most {MAX_REASON} characters."]})
    if "\x00" in reason:  # the web form passes it raw; PostgreSQL cannot store it
        raise InvalidValues({"reason": ["Null characters are not allowed."]})
