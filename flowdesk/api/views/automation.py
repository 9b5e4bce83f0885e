"""`/api/v1/automation-runs/`: automation runs and stepping in by hand; and
`/api/v1/callbacks/{token}/`, where another system reports the outcome of a call."""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import permissions
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from flowdesk.api.pagination import CursorPagination
from flowdesk.api.problems import problem_responses
from flowdesk.api.serializers import automation as ser
from flowdesk.api.serializers.tickets import TicketSerializer
from flowdesk.api.views.base import ApiViewSet
from flowdesk.api.views.tickets import ACTED
from flowdesk.automation import actions
from flowdesk.automation.access import access_run
from flowdesk.automation.filtersets import AutomationRunFilterSet
from flowdesk.automation.models import AutomationRun
from flowdesk.automation.runner import (
    apply_callback,
    failure,
    success,
    waiting_for_callback,
)
from flowdesk.automation.signing import SIGNATURE_HEADER, hash_token, signature_valid
from flowdesk.tickets.models import Ticket


@extend_schema_view(
    list=extend_schema(summary="Automation runs of the tickets the caller may see"),
    retrieve=extend_schema(summary="An automation run", responses=ser.AutomationRunSerializer),
)
@extend_schema(tags=["automation"])
class AutomationRunViewSet(ApiViewSet):
    lookup_value_regex = r"[0-9]{1,18}"
    pagination_class = CursorPagination
    filterset_class = AutomationRunFilterSet
    serializer_class = ser.AutomationRunBriefSerializer
    queryset = AutomationRun.objects.none()

    def visible(self) -> QuerySet:
        return AutomationRun.objects.filter(
            ticket__in=Ticket.objects.visible_to(self.caller)
        ).select_related("ticket__version", "task")

    def get_object(self) -> AutomationRun:
        return access_run(self.caller, int(self.kwargs["pk"]))

    def render(self, ticket: Ticket) -> Response:
        return Response(TicketSerializer(ticket, context=self.get_serializer_context()).data)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        context = self.get_serializer_context()
        return Response(ser.AutomationRunSerializer(self.get_object(), context=context).data)

    @extend_schema(
        summary="Run a failed step again (a new attempt)",
        request=None,
        responses={201: ser.AutomationRunSerializer, **problem_responses([409])},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str) -> Response:
        run = actions.do_retry_automation(self.get_object(), actor=self.caller, source=self.source)
        context = self.get_serializer_context()
        return Response(ser.AutomationRunSerializer(run, context=context).data, status=201)

    @extend_schema(
        summary="Skip the step (a reason is required)", request=ser.SkipSerializer, responses=ACTED
    )
    @action(detail=True, methods=["post"])
    def skip(self, request: Request, pk: str) -> Response:
        run, body = self.get_object(), self.parse(ser.SkipSerializer)
        return self.render(
            actions.do_skip_automation(
                run, actor=self.caller, reason=body["reason"], source=self.source
            )
        )

    @extend_schema(
        summary="Complete the step by hand (its fields; a reason is required)",
        request=ser.CompleteByHandSerializer,
        responses=ACTED,
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str) -> Response:
        run, body = self.get_object(), self.parse(ser.CompleteByHandSerializer)
        return self.render(
            actions.do_complete_automation(
                run,
                actor=self.caller,
                values=body["fields"],
                reason=body["reason"],
                source=self.source,
            )
        )


SIGNATURE = OpenApiParameter(
    SIGNATURE_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="`sha256=` and the hex HMAC-SHA256 of the raw body, keyed with the secret the "
    "step's `callback.secret` names (docs/automation.md).",
)


class CallbackView(APIView):
    """No user signs in here: the token in the URL finds the waiting run, and the body's
    signature proves the sender holds the step's secret."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        summary="Report the outcome of an automation call (signed; no token needed)",
        tags=["automation"],
        auth=[],
        parameters=[SIGNATURE],
        request=ser.CallbackSerializer,
        responses={
            200: ser.CallbackAnswerSerializer,
            202: ser.CallbackAnswerSerializer,
            **problem_responses([409]),
        },
    )
    def post(self, request: Request, token: str) -> Response:
        run = (
            AutomationRun.objects.filter(callback_token_hash=hash_token(token))
            .filter(waiting_for_callback())
            .select_related("ticket__version")
            .first()
        )
        if run is None:
            raise Http404("No automation step waits for this callback (unknown or used token).")
        automation = run.ticket.version.definition.node(run.node_id).automation
        secret = settings.FLOWDESK_SECRETS.get(automation.callback.secret, "")
        if not secret or not signature_valid(
            secret, request.body, request.headers.get(SIGNATURE_HEADER)
        ):
            raise PermissionDenied(
                f"The signature is missing or wrong: send {SIGNATURE_HEADER}: sha256=<hex of "
                "HMAC-SHA256 of the raw body, keyed with the step's callback secret>."
            )
        body = ser.CallbackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if data["outcome"] == "success":
            outcome = success(data["fields"])
        else:
            outcome = failure(data["message"] or "The other system reported a failure.")
        status = apply_callback(run, outcome)
        code = 202 if status == AutomationRun.Status.RUNNING else 200
        return Response({"run": run.pk, "status": status}, status=code)
