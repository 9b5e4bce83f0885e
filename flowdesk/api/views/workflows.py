"""`/api/v1/workflows/`: designers read, validate, import and deploy workflow documents."""

from django.db.models import Max, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from flowdesk.api.serializers import workflows as ser
from flowdesk.api.views.base import ApiViewSet, CanDesignWorkflows
from flowdesk.directory.resolver import DjangoRoleCatalog
from flowdesk.engine.validation import validate_document
from flowdesk.workflows.actions import do_deploy_workflow, do_save_draft
from flowdesk.workflows.models import Workflow

DEPLOY = OpenApiParameter(
    "deploy", OpenApiTypes.BOOL, description="Also deploy the saved draft as a new version."
)


@extend_schema_view(
    list=extend_schema(summary="Workflows"),
    retrieve=extend_schema(
        summary="A workflow: its draft document and versions",
        responses={200: ser.WorkflowSerializer},
    ),
)
@extend_schema(tags=["workflows"])
class WorkflowViewSet(ApiViewSet):
    permission_classes = [CanDesignWorkflows]
    lookup_field = "key"
    lookup_value_regex = r"[-a-z0-9_]{1,64}"
    pagination_class = None
    serializer_class = ser.WorkflowBriefSerializer
    queryset = Workflow.objects.none()

    def visible(self) -> QuerySet:
        return Workflow.objects.annotate(latest_version=Max("versions__number")).order_by("key")

    def list(self, request: Request) -> Response:
        return Response(self.get_serializer(self.get_queryset(), many=True).data)

    def retrieve(self, request: Request, key: str) -> Response:
        return Response(ser.WorkflowSerializer(self.get_object()).data)

    @extend_schema(
        summary="Import a document: save it as the draft (and deploy it with `deploy=1`)",
        request=OpenApiTypes.OBJECT,
        parameters=[DEPLOY],
        responses={200: ser.WorkflowSerializer},
    )
    def create(self, request: Request) -> Response:
        workflow, _problems = do_save_draft(request.data, actor=self.caller, strict=True)
        if request.query_params.get("deploy", "").lower() in ("1", "true"):
            do_deploy_workflow(workflow, actor=self.caller)
        return Response(ser.WorkflowSerializer(self.get_queryset().get(pk=workflow.pk)).data)

    @extend_schema(
        summary="Check a document; 200 with its problems either way",
        request=OpenApiTypes.OBJECT,
        responses={200: ser.ValidationSerializer},
    )
    @action(detail=False, methods=["post"])
    def validate(self, request: Request) -> Response:
        problems = validate_document(request.data, directory=DjangoRoleCatalog())
        body = {
            "valid": not problems,
            "problems": [{"path": p.path, "message": p.message} for p in problems],
        }
        return Response(ser.ValidationSerializer(body).data)

    @extend_schema(
        summary="Freeze the draft as the next version",
        request=None,
        responses={200: ser.DeployedSerializer, 201: ser.DeployedSerializer},
    )
    @action(detail=True, methods=["post"])
    def deploy(self, request: Request, key: str) -> Response:
        version, created = do_deploy_workflow(self.get_object(), actor=self.caller)
        version.created = created
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(ser.DeployedSerializer(version).data, status=code)

    @extend_schema(summary="A deployed version's document", responses={200: ser.VersionSerializer})
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>[0-9]{1,9})")
    def version(self, request: Request, key: str, number: str) -> Response:
        versions = self.get_object().versions.select_related("deployed_by")
        version = get_object_or_404(versions, number=int(number))
        return Response(ser.VersionSerializer(version).data)
