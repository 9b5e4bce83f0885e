"""Tickets, tasks and history as JSON, and the bodies of the actions on them."""

from django.contrib.auth.models import AbstractBaseUser
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.reverse import reverse

from flowdesk.api.serializers.common import (
    KeyNameSerializer,
    NodeRefSerializer,
    field_definitions,
    node_name,
)
from flowdesk.tickets import queries
from flowdesk.tickets.models import Event, Task, Ticket

TASK_ACTIONS = ["complete", "approve", "reject", "return", "transfer", "claim"]
TICKET_ACTIONS = [
    "comment",
    "follow",
    "unfollow",
    "urge",
    "withdraw",
    "suspend",
    "resume",
    "terminate",
]
ActionList = serializers.ListField(child=serializers.ChoiceField(choices=TASK_ACTIONS))


def ticket_url(request: Request | None, sn: str) -> str:
    return reverse("api:ticket-detail", kwargs={"sn": sn}, request=request)


class _CallerMixin:
    @property
    def caller(self) -> AbstractBaseUser:
        return self.context["request"].user


class TicketRefSerializer(serializers.Serializer):
    sn = serializers.CharField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=Ticket.Status.choices)
    url = serializers.SerializerMethodField()

    def get_url(self, ticket: Ticket) -> str:
        return ticket_url(self.context.get("request"), ticket.sn)


class TicketBriefSerializer(TicketRefSerializer):
    """A ticket in lists."""

    service = KeyNameSerializer()
    business = serializers.CharField(source="business.key", allow_null=True)
    requester = serializers.CharField(source="requester.username")
    created_at = serializers.DateTimeField()
    current_nodes = serializers.SerializerMethodField()

    @extend_schema_field(NodeRefSerializer(many=True))
    def get_current_nodes(self, ticket: Ticket) -> list[dict]:
        return [{"id": id_, "name": name} for id_, name in queries.current_steps(ticket)]


class _TaskMixin(_CallerMixin):
    def get_node_name(self, task: Task) -> str:
        return node_name(task.ticket.version.definition, task.node_id)

    def get_node_type(self, task: Task) -> str:
        return task.ticket.version.definition.node(task.node_id).type

    @extend_schema_field(ActionList)
    def get_actions(self, task: Task) -> list[str]:
        # A list view computes a whole page's actions at once (`task_actions` in the context).
        if (page := self.context.get("task_actions")) is not None:
            return page[task.pk]
        return queries.task_actions(self.caller, task)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_barred_reason(self, task: Task) -> str | None:
        return queries.barred_reason(self.caller, task)


class OpenTaskSerializer(_TaskMixin, serializers.Serializer):
    """An open task as part of its ticket: what the caller may do on it, and its form."""

    id = serializers.IntegerField()
    node = serializers.CharField(source="node_id")
    node_name = serializers.SerializerMethodField()
    node_type = serializers.SerializerMethodField()
    assignee = serializers.CharField(source="assignee.username", allow_null=True)
    claim = serializers.BooleanField()
    actions = serializers.SerializerMethodField()
    barred_reason = serializers.SerializerMethodField(
        help_text="Why separation of duties keeps the caller from handling the task, or null."
    )
    return_targets = serializers.SerializerMethodField()
    fields = serializers.SerializerMethodField(method_name="field_definitions")

    def get_return_targets(self, task: Task) -> list[str]:
        return queries.return_targets(task)

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def field_definitions(self, task: Task) -> list[dict]:
        return field_definitions(task.ticket.version.definition, task.node_id)


class SnapshotSerializer(serializers.Serializer):
    node = serializers.CharField()
    node_name = serializers.CharField()
    kind = serializers.CharField()
    by = serializers.CharField()
    at = serializers.DateTimeField()
    values = serializers.DictField()


class TicketSerializer(_CallerMixin, TicketBriefSerializer):
    """A ticket with its values, open tasks, per-step snapshots and the caller's actions."""

    version = serializers.IntegerField(source="version.number")
    updated_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    end_reason = serializers.SerializerMethodField()
    fields = serializers.DictField(source="values")
    tasks = serializers.SerializerMethodField()
    snapshots = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    def get_end_reason(self, ticket: Ticket) -> str | None:
        return queries.end_reason(ticket)

    @extend_schema_field(OpenTaskSerializer(many=True))
    def get_tasks(self, ticket: Ticket) -> list[dict]:
        tasks = list(ticket.tasks.filter(status=Task.Status.OPEN).select_related("assignee"))
        for task in tasks:
            task.ticket = ticket  # one ticket, one parsed definition
        return OpenTaskSerializer(tasks, many=True, context=self.context).data

    @extend_schema_field(SnapshotSerializer(many=True))
    def get_snapshots(self, ticket: Ticket) -> list[dict]:
        return SnapshotSerializer(queries.snapshots(ticket), many=True).data

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(TICKET_ACTIONS)))
    def get_actions(self, ticket: Ticket) -> list[str]:
        return queries.ticket_actions(self.caller, ticket)


class EventSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    kind = serializers.CharField()
    actor = serializers.CharField(source="actor.username", allow_null=True)
    at = serializers.DateTimeField()
    node = serializers.CharField(source="node_id")
    node_name = serializers.SerializerMethodField()
    data = serializers.DictField()

    def get_node_name(self, event: Event) -> str:
        return node_name(self.context["definition"], event.node_id) if event.node_id else ""


class TaskBriefSerializer(_TaskMixin, serializers.Serializer):
    """A task in lists (the to-do list)."""

    id = serializers.IntegerField()
    ticket = TicketRefSerializer()
    node = serializers.CharField(source="node_id")
    node_name = serializers.SerializerMethodField()
    node_type = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    actions = serializers.SerializerMethodField()
    barred_reason = serializers.SerializerMethodField(
        help_text="Why separation of duties keeps the caller from handling the task, or null."
    )


class TaskSerializer(OpenTaskSerializer):
    """A task, open or closed, with its ticket."""

    ticket = TicketRefSerializer()
    status = serializers.ChoiceField(choices=Task.Status.choices)
    outcome = serializers.CharField()
    handled_by = serializers.CharField(source="handled_by.username", allow_null=True)
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)


# --- request bodies -----------------------------------------------------------------------------


def _text(**options: object) -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=False, **options
    )


class TicketCreateSerializer(serializers.Serializer):
    service = serializers.CharField(max_length=64, help_text="Key of the service.")
    business = serializers.CharField(
        max_length=64,
        required=False,
        allow_null=True,
        default=None,
        help_text="Key of the business; required when the service's workflow is business-scoped.",
    )
    title = _text()
    fields = serializers.DictField(
        required=False, default=dict, help_text="Values of the start step's fields by key."
    )


class ReasonSerializer(serializers.Serializer):
    reason = _text(help_text="Why (required to suspend and terminate).")


class CommentSerializer(serializers.Serializer):
    comment = _text()


class CommentTextSerializer(serializers.Serializer):
    text = _text(help_text="The comment.")


class TaskValuesSerializer(serializers.Serializer):
    fields = serializers.DictField(
        required=False, default=dict, help_text="Values of the step's fields by key."
    )
    comment = _text()
    override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="Admins only: act despite separation of duties (barred_reason), saying why. "
        "Recorded in the history and the audit log.",
    )


class ReturnSerializer(serializers.Serializer):
    target = serializers.CharField(max_length=64, help_text="One of the task's return_targets.")
    reason = _text(help_text="Why the ticket goes back (required).")


class TransferSerializer(serializers.Serializer):
    user = serializers.CharField(max_length=150, help_text="Username of the new handler.")
    comment = _text()


class EmptySerializer(serializers.Serializer):
    pass
