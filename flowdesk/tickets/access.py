"""Choke points for reading tickets and tasks: missing and forbidden look the same."""

from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404

from flowdesk.directory.access import is_flowdesk_admin
from flowdesk.tickets.models import Task, TaskCandidate, Ticket


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


def is_candidate(task: Task, user: AbstractBaseUser) -> bool:
    return TaskCandidate.objects.filter(task=task, user=user).exists()


def is_manager(ticket: Ticket, user: AbstractBaseUser) -> bool:
    """Admins and the service's owners manage its tickets (suspend, terminate, transfer)."""
    return is_flowdesk_admin(user) or ticket.service.owners.filter(pk=user.pk).exists()
