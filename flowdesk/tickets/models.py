"""Tickets, their tasks (to-dos), candidates, history and attachments.

The ticket's `state` is the pure engine's state (flowdesk.engine); tasks, candidates and events
are written from the engine's effects so that lists and to-do queries are indexed lookups.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from flowdesk.catalog.models import Service
from flowdesk.directory.models import Business, Role
from flowdesk.workflows.models import WorkflowVersion

SERIAL_PREFIXES = {"change": "CRQ", "request": "REQ", "incident": "INC", "problem": "PRB"}


class SerialCounter(models.Model):
    """The last serial number handed out per prefix and day."""

    prefix = models.CharField(max_length=3)
    day = models.DateField()
    value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prefix", "day"], name="unique_serial_counter")
        ]


class TicketQuerySet(models.QuerySet):
    def visible_to(self, user: models.Model) -> "TicketQuerySet":
        """Tickets the user may see (docs/security.md): admins all; others those they requested
        or handle(d), and those of services they own or restrict to a role they hold.

        Followers need no term of their own: following needs one of the others. There is no
        join and no DISTINCT; participation is a probe of the (user, ticket) index per ticket
        the rest of the query picks, not the set of every ticket the user ever took part in
        (which grows with the history), so a page costs the same however many tickets exist.
        """
        from flowdesk.directory.access import is_flowdesk_admin

        if is_flowdesk_admin(user):
            return self
        roles = Role.objects.filter(memberships__user=user).values("pk")
        services = Service.objects.filter(
            Q(owners=user) | Q(visibility=Service.Visibility.ROLES, visible_roles__in=roles)
        )
        took_part = TicketParticipant.objects.filter(user=user, ticket=OuterRef("pk"))
        return self.filter(
            Q(requester=user) | Exists(took_part) | Q(service__in=services.values("pk"))
        )


class Ticket(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        SUSPENDED = "suspended", _("suspended")
        FINISHED = "finished", _("finished")
        TERMINATED = "terminated", _("terminated")
        WITHDRAWN = "withdrawn", _("withdrawn")

    ENDED = (Status.FINISHED, Status.TERMINATED, Status.WITHDRAWN)

    sn = models.CharField(_("serial number"), max_length=20, unique=True)
    title = models.CharField(_("title"), max_length=200)
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="tickets", db_index=False
    )
    version = models.ForeignKey(WorkflowVersion, on_delete=models.PROTECT, related_name="tickets")
    business = models.ForeignKey(
        Business,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        db_index=False,
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="requested_tickets",
        db_index=False,
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RUNNING
    )
    state = models.JSONField(_("engine state"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        # Lists show the newest first by id (ids grow with creation time), so each filter a
        # list offers, followed by id, gives its first page by walking an index. They lead with
        # the foreign keys, which therefore need no index of their own.
        indexes = [
            models.Index(fields=["requester", "-id"], name="ticket_requester"),
            models.Index(fields=["status", "-id"], name="ticket_status"),
            models.Index(fields=["service", "status", "-id"], name="ticket_service_status"),
            models.Index(fields=["business", "status", "-id"], name="ticket_business_status"),
        ]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")

    def __str__(self) -> str:
        return f"{self.sn} {self.title}"

    @property
    def values(self) -> dict:
        return self.state["values"]

    @property
    def is_ended(self) -> bool:
        return self.status in self.ENDED


class Task(models.Model):
    """One activation of a human node waiting for a person (one per approver in countersign)."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        CLOSED = "closed", _("closed")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="tasks")
    key = models.PositiveIntegerField(_("engine task id"))
    node_id = models.CharField(_("node"), max_length=64)
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(_("outcome"), max_length=12, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    claim = models.BooleanField(_("claim first"), default=False)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["ticket", "key"]
        constraints = [models.UniqueConstraint(fields=["ticket", "key"], name="unique_task_key")]
        indexes = [models.Index(fields=["ticket", "status"], name="task_ticket_status")]

    def __str__(self) -> str:
        return f"{self.ticket.sn}/{self.node_id}#{self.key}"

    @property
    def needs_claim(self) -> bool:
        return self.claim and self.assignee_id is None


class TaskCandidate(models.Model):
    """Who may act on an OPEN task; rows are removed when it closes, so the to-do list is the
    rows of one user – an index lookup however many tickets there are."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="candidates")
    # The unique (user, task) index serves the to-do lookup; no separate index on user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # Named directly (users, requester, transfer...), not through a role: membership changes
    # leave the row alone.
    fixed = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "task"], name="unique_task_candidate")
        ]


class TaskSource(models.Model):
    """A role an open, unassigned task draws its candidates from, to follow membership changes."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="sources")
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="+")
    business = models.ForeignKey(Business, null=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["role", "business"], name="task_source_role")]


class TicketParticipant(models.Model):
    """Everyone who was ever asked to handle, or handled, a step of the ticket (may see it)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "ticket"], name="unique_ticket_participant")
        ]


class Follow(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="follows")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "ticket"], name="unique_follow")]


class Event(models.Model):
    """Append-only history: who did what, when, on which step, with which values."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()
    node_id = models.CharField(max_length=64, blank=True)
    task_key = models.PositiveIntegerField(null=True)
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["ticket", "seq"]
        constraints = [models.UniqueConstraint(fields=["ticket", "seq"], name="unique_event_seq")]

    def __str__(self) -> str:
        return f"{self.ticket_id}#{self.seq} {self.kind}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    return f"attachments/{instance.pk.hex[:2]}/{instance.pk.hex}"


class Attachment(models.Model):
    """An uploaded file; `attachment` field values are lists of these ids."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    file = models.FileField(upload_to=attachment_path)
    name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=100, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


def open_tasks_for(user: models.Model) -> QuerySet[Task]:
    """The user's to-do list, oldest first: open tasks they are a candidate of. Ordered by task
    id (ids grow with creation time) so that a page is the first rows of the (user, task) index
    and costs the same however long the list is."""
    return (
        Task.objects.filter(candidates__user=user)
        .select_related("ticket", "ticket__service", "ticket__version")
        .order_by("pk")
    )
