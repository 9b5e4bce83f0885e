"""Read-side answers for automation steps, shared by the ticket page and the API."""

from django.contrib.auth.models import AbstractBaseUser

from flowdesk.automation.access import may_intervene
from flowdesk.automation.models import AutomationRun
from flowdesk.tickets.models import Task, Ticket

RUN_ACTIONS = ["retry", "skip", "complete"]


def latest_run(task: Task) -> AutomationRun | None:
    return task.automation_runs.order_by("-attempt").first()


def run_actions(user: AbstractBaseUser, run: AutomationRun) -> list[str]:
    """What `user` may do by hand on the run now: retry a failed attempt; skip the step or
    complete it by hand while it is open. Only on the step's latest attempt."""
    task, ticket = run.task, run.ticket
    if task.status != Task.Status.OPEN or ticket.status != Ticket.Status.RUNNING:
        return []
    if latest_run(task) != run or not may_intervene(ticket, task, user):
        return []
    return (["retry"] if not run.is_open else []) + ["skip", "complete"]
