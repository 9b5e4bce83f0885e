"""Automation runs as JSON, the bodies of the actions on them, and the signed callback."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from flowdesk.api.serializers.common import node_name
from flowdesk.api.serializers.tickets import TicketRefSerializer
from flowdesk.automation.models import AutomationRun
from flowdesk.automation.queries import RUN_ACTIONS, run_actions


class AutomationRunBriefSerializer(serializers.Serializer):
    """A run in lists."""

    id = serializers.IntegerField()
    ticket = TicketRefSerializer()
    task = serializers.IntegerField(source="task_id")
    node = serializers.CharField(source="node_id")
    node_name = serializers.SerializerMethodField()
    attempt = serializers.IntegerField()
    action = serializers.CharField(help_text="http or checksum.")
    status = serializers.ChoiceField(choices=AutomationRun.Status.choices)
    error = serializers.CharField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_node_name(self, run: AutomationRun) -> str:
        return node_name(run.ticket.version.definition, run.node_id)


class AutomationRunSerializer(AutomationRunBriefSerializer):
    """A run: the request as sent (secrets redacted), the answer, the result, and what the
    caller may do on it."""

    request = serializers.DictField(help_text="method, url, headers, body; secrets redacted.")
    response_status = serializers.IntegerField(allow_null=True)
    response_body = serializers.CharField(help_text="Shortened.")
    result = serializers.DictField(
        help_text="A checksum check: url, size, md5, sha256, expected, match."
    )
    deadline = serializers.DateTimeField(allow_null=True)
    next_poll_at = serializers.DateTimeField(allow_null=True)
    actions = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(RUN_ACTIONS)))
    def get_actions(self, run: AutomationRun) -> list[str]:
        return run_actions(self.context["request"].user, run)


def _reason() -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=False, help_text="Why."
    )


class SkipSerializer(serializers.Serializer):
    reason = _reason()


class CompleteByHandSerializer(serializers.Serializer):
    fields = serializers.DictField(
        required=False, default=dict, help_text="Values of the step's fields by key."
    )
    reason = _reason()


class CallbackSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["success", "failure"])
    fields = serializers.DictField(
        required=False, default=dict, help_text="success: values of the step's fields by key."
    )
    message = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=4000,
        help_text="failure: what went wrong, shown to the step's operators.",
    )


class CallbackAnswerSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=AutomationRun.Status.choices,
        help_text="succeeded or failed; running when the ticket is suspended (the outcome is "
        "kept and applied when it resumes).",
    )
