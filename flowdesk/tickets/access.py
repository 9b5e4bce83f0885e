"""Choke points for reading tickets, tasks and attachments: missing and forbidden look the same."""

import uuid
from collections.abc import Collection

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from django.http import Http404

from flowdesk import engine
from flowdesk.directory.access import is_flowdesk_admin
from flowdesk.tickets.models import Attachment, Task, TaskCandidate, Ticket, TicketParticipant


def access_ticket(user: AbstractBaseUser, sn: str) -> Ticket:
    """The ticket with serial `sn` if the user may see it; Http404 otherwise (either way)."""
    ticket = (
        Ticket.objects.select_related("service", "version", "business", "requester")
        .filter(sn=sn)
        .first()
    )
    if ticket is None or not may_see(user, ticket):
        raise Http404(f"No ticket {sn}.")
    return ticket


def access_task(user: AbstractBaseUser, pk: int) -> Task:
    """A task of a ticket the user may see; Http404 otherwise."""
    task = Task.objects.filter(pk=pk).select_related("ticket").first()
    if task is None or not may_see(user, task.ticket):
        raise Http404(f"No task {pk}.")
    return task


def may_see(user: AbstractBaseUser, ticket: Ticket) -> bool:
    """`Ticket.objects.visible_to(user)` for one ticket, its cheap terms first: whoever acts on
    a ticket requested it or takes part in it, so the whole rule (services owned or open to a
    role) is seldom needed."""
    if ticket.requester_id == user.pk:
        return True
    if TicketParticipant.objects.filter(ticket=ticket, user=user).exists():
        return True
    return Ticket.objects.visible_to(user).filter(pk=ticket.pk).exists()


def is_candidate(task: Task, user: AbstractBaseUser) -> bool:
    return TaskCandidate.objects.filter(task=task, user=user).exists()


def is_manager(
    ticket: Ticket, user: AbstractBaseUser, owners: Collection[str] | None = None
) -> bool:
    """Admins and the service's owners manage its tickets (suspend, terminate, transfer).
    `owners`: the user names of the service's owners when the caller has them (no query)."""
    if is_flowdesk_admin(user):
        return True
    if owners is not None:
        return user.get_username() in owners
    return ticket.service.owners.filter(pk=user.pk).exists()


def access_attachment(user: AbstractBaseUser, pk: uuid.UUID) -> Attachment:
    """A file the user uploaded, or one that a ticket they may see names in an attachment
    field (now or in its history); Http404 otherwise."""
    attachment = Attachment.objects.filter(pk=pk).first()
    if attachment is None or (
        attachment.uploaded_by_id != user.pk and not _referenced(user, attachment.pk)
    ):
        raise Http404(f"No attachment {pk}.")
    return attachment


def attachment_ids(defn: engine.Definition, values: dict) -> set[uuid.UUID]:
    """The ids the attachment fields among `values` name (ids that are no UUID left out)."""
    ids = set()
    for key, value in values.items():
        if defn.fields.get(key, {}).get("type") != "attachment" or not isinstance(value, list):
            continue
        ids.update(pk for item in value if (pk := as_uuid(item)))
    return ids


def as_uuid(item: object) -> uuid.UUID | None:
    """An attachment id as stored (any spelling of a UUID); None for anything else."""
    try:
        return uuid.UUID(str(item))
    except ValueError:
        return None


def _referenced(user: AbstractBaseUser, pk: uuid.UUID) -> bool:
    # A text search narrows the tickets (the first 8 hex digits appear in the id however it was
    # spelt); the field types then decide. A step's submitted values keep replaced files.
    needle = pk.hex[:8]
    tickets = (
        Ticket.objects.visible_to(user)
        .filter(Q(state__icontains=needle) | Q(events__data__icontains=needle))
        .select_related("version")
        .distinct()
    )
    for ticket in tickets:
        defn = ticket.version.definition
        submitted = ticket.events.filter(data__icontains=needle).values_list("data", flat=True)
        for values in [ticket.values, *(data.get("values") or {} for data in submitted)]:
            if pk in attachment_ids(defn, values):
                return True
    return False
