"""Who may see automation runs and step in by hand (retry, skip, complete)."""

from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404

from flowdesk.automation.models import AutomationRun
from flowdesk.tickets.access import is_candidate, is_manager
from flowdesk.tickets.models import Task, Ticket


def access_run(user: AbstractBaseUser, pk: int) -> AutomationRun:
    """A run of a ticket the user may see; Http404 otherwise (either way)."""
    run = (
        AutomationRun.objects.filter(pk=pk, ticket__in=Ticket.objects.visible_to(user))
        .select_related("ticket__version", "ticket__service", "task")
        .first()
    )
    if run is None:
        raise Http404(f"No automation run {pk}.")
    return run


def may_intervene(ticket: Ticket, task: Task, user: AbstractBaseUser) -> bool:
    """The step's candidates (its operators, else the service owners), a service owner or an
    admin may retry, skip or complete an automation step by hand."""
    return is_candidate(task, user) or is_manager(ticket, user)
