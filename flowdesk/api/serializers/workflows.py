"""Workflow designs as documents, their versions, and validation results."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from flowdesk.api.problems import PathProblemSerializer
from flowdesk.directory.resolver import DjangoRoleCatalog
from flowdesk.engine.validation import validate_document
from flowdesk.workflows.models import Workflow, WorkflowType


class VersionBriefSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    checksum = serializers.CharField(help_text="SHA-256 of the canonical document.")
    deployed_at = serializers.DateTimeField()
    deployed_by = serializers.CharField(source="deployed_by.username", allow_null=True)


class VersionSerializer(VersionBriefSerializer):
    document = serializers.DictField()


class DeployedSerializer(VersionBriefSerializer):
    created = serializers.BooleanField(
        help_text="False when the draft equals the latest version, which is returned unchanged."
    )


class WorkflowBriefSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    name_zh = serializers.CharField()
    type = serializers.ChoiceField(choices=WorkflowType.choices)
    latest_version = serializers.IntegerField(allow_null=True)
    draft_updated_at = serializers.DateTimeField()


class WorkflowSerializer(WorkflowBriefSerializer):
    """A workflow: the draft document, what keeps it from deploying, and its versions."""

    draft = serializers.DictField()
    problems = serializers.SerializerMethodField()
    versions = VersionBriefSerializer(many=True)

    @extend_schema_field(PathProblemSerializer(many=True))
    def get_problems(self, workflow: Workflow) -> list[dict]:
        problems = validate_document(workflow.draft, directory=DjangoRoleCatalog())
        return [{"path": p.path, "message": p.message} for p in problems]


class ValidationSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    problems = PathProblemSerializer(many=True)
