"""Choke points for reading tickets and tasks: missing and forbidden look the same."""

from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404

from flowdesk.tickets.models import Task, Ticket


def access_ticket(user: AbstractBaseUser, sn: str) -> Ticket:
    """The ticket with serial `sn` if the user may see it; Http404 otherwise (either way)."""
    ticket = (
        Ticket.objects.visible_to(user)
        .select_related("service", "version", "business", "requester")
        .filter(sn=sn)
        .first()
    )
    if ticket is None:
        raise Http404(f"No ticket {sn}.")
    return ticket


def access_task(user: AbstractBaseUser, pk: int) -> Task:
    """A task of a ticket the user may see; Http404 otherwise."""
    task = (
        Task.objects.filter(pk=pk, ticket__in=Ticket.objects.visible_to(user))
        .select_related("ticket")
        .first()
    )
    if task is None:
        raise Http404(f"No task {pk}.")
    return task
