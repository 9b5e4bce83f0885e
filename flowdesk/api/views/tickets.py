"""`/api/v1/tickets/`: submit, list, read, and the ticket-level actions."""

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from flowdesk.api.actions import do_submit_ticket_once
from flowdesk.api.filtersets import ApiTicketFilterSet
from flowdesk.api.pagination import CursorPagination
from flowdesk.api.problems import problem_responses
from flowdesk.api.serializers import tickets as ser
from flowdesk.api.views.base import ApiViewSet
from flowdesk.catalog.access import services_visible_to
from flowdesk.directory.models import Business
from flowdesk.engine import InvalidValues
from flowdesk.tickets import actions, queries
from flowdesk.tickets.access import access_ticket
from flowdesk.tickets.models import Ticket

# Ticket actions answer 409 (wrong status), 422 (a step nobody can handle) besides the common.
ACTED = {200: ser.TicketSerializer, **problem_responses([409, 422])}
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="A retried create by the same user with the same key returns the ticket the "
    "first created (status 200) instead of creating another. At most 200 characters.",
)
MAX_IDEMPOTENCY_KEY = 200
# Submitting and the task actions answer the brief ticket: rendering the whole one (open tasks
# with the caller's actions, snapshots, ticket actions) costs about as much as the action
# itself (docs/benchmarks.md); `?expand=ticket` asks for it.
EXPAND = OpenApiParameter(
    "expand",
    OpenApiTypes.STR,
    enum=["ticket"],
    description="`ticket`: answer with the whole ticket (as `GET /tickets/{sn}/`) instead of "
    "the brief one.",
)
BRIEF = OpenApiResponse(
    ser.TicketBriefSerializer,
    description="The brief ticket; with `expand=ticket` the whole ticket (`Ticket`).",
)
TASK_ACTED = {200: BRIEF, **problem_responses([409, 422])}


def wants_ticket(request: Request) -> bool:
    """Whether the caller asked for the whole ticket (`?expand=ticket`); checked before the
    action runs, so a mistyped expansion changes nothing."""
    expand = request.query_params.get("expand")
    if expand not in (None, "ticket"):
        raise exceptions.ValidationError({"expand": ["The only expansion is 'ticket'."]})
    return expand == "ticket"


def render_acted(
    view: ApiViewSet, ticket: Ticket, *, whole: bool, status_code: int = 200
) -> Response:
    """The answer to submitting or acting on a task: the brief ticket, or the whole one."""
    serializer = ser.TicketSerializer if whole else ser.TicketBriefSerializer
    return Response(
        serializer(ticket, context=view.get_serializer_context()).data, status=status_code
    )


@extend_schema_view(
    list=extend_schema(summary="List the tickets the caller may see", tags=["tickets"]),
    retrieve=extend_schema(summary="A ticket", tags=["tickets"]),
)
@extend_schema(tags=["tickets"])
class TicketViewSet(ApiViewSet):
    lookup_field = "sn"
    lookup_value_regex = r"[A-Za-z0-9]{1,20}"
    pagination_class = CursorPagination
    filterset_class = ApiTicketFilterSet
    serializer_class = ser.TicketBriefSerializer
    queryset = Ticket.objects.none()

    def visible(self) -> QuerySet:
        return Ticket.objects.visible_to(self.caller).select_related(
            "service", "business", "requester", "version"
        )

    def get_object(self) -> Ticket:
        return access_ticket(self.caller, self.kwargs["sn"])

    def render(self, ticket: Ticket) -> Response:
        return render_acted(self, ticket, whole=True)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(responses={200: ser.TicketSerializer})
    def retrieve(self, request: Request, sn: str) -> Response:
        return self.render(self.get_object())

    @extend_schema(
        summary="Submit a ticket",
        request=ser.TicketCreateSerializer,
        parameters=[IDEMPOTENCY_KEY, EXPAND],
        responses={201: BRIEF, 200: BRIEF, **problem_responses([409, 422])},
    )
    def create(self, request: Request) -> Response:
        whole, body = wants_ticket(request), self.parse(ser.TicketCreateSerializer)
        key = request.headers.get("Idempotency-Key") or None
        if key is not None and (len(key) > MAX_IDEMPOTENCY_KEY or "\x00" in key):
            raise exceptions.ValidationError(
                {"Idempotency-Key": [f"Send at most {MAX_IDEMPOTENCY_KEY} characters."]}
            )
        service = services_visible_to(self.caller).filter(key=body["service"]).first()
        errors = {} if service else {"service": [f"No service '{body['service']}'."]}
        business = None
        if body["business"] is not None:
            business = Business.objects.filter(key=body["business"]).first()
            if business is None:
                errors["business"] = [f"No business '{body['business']}'."]
        if errors:
            raise InvalidValues(errors)
        ticket, created = do_submit_ticket_once(
            service,
            actor=self.caller,
            idempotency_key=key,
            title=body["title"],
            values=body["fields"],
            business=business,
            source=self.source,
        )
        response = render_acted(
            self,
            ticket,
            whole=whole,
            status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
        response["Location"] = ser.ticket_url(request, ticket.sn)
        return response

    @extend_schema(summary="The ticket's history", responses={200: ser.EventSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def events(self, request: Request, sn: str) -> Response:
        ticket = self.get_object()
        context = {**self.get_serializer_context(), "definition": ticket.version.definition}
        events = queries.history(ticket)
        return Response(ser.EventSerializer(events, many=True, context=context).data)

    @extend_schema(
        summary="Withdraw (the requester)", request=ser.ReasonSerializer, responses=ACTED
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, sn: str) -> Response:
        ticket, body = self.get_object(), self.parse(ser.ReasonSerializer)
        return self.render(
            actions.do_withdraw_ticket(
                ticket, actor=self.caller, reason=body["reason"], source=self.source
            )
        )

    @extend_schema(
        summary="Suspend (admins, service owners)", request=ser.ReasonSerializer, responses=ACTED
    )
    @action(detail=True, methods=["post"])
    def suspend(self, request: Request, sn: str) -> Response:
        ticket, body = self.get_object(), self.parse(ser.ReasonSerializer)
        return self.render(
            actions.do_suspend_ticket(
                ticket, actor=self.caller, reason=body["reason"], source=self.source
            )
        )

    @extend_schema(
        summary="Resume (admins, service owners)", request=ser.CommentSerializer, responses=ACTED
    )
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, sn: str) -> Response:
        ticket, body = self.get_object(), self.parse(ser.CommentSerializer)
        return self.render(
            actions.do_resume_ticket(
                ticket, actor=self.caller, comment=body["comment"], source=self.source
            )
        )

    @extend_schema(
        summary="Terminate (admins, service owners)", request=ser.ReasonSerializer, responses=ACTED
    )
    @action(detail=True, methods=["post"])
    def terminate(self, request: Request, sn: str) -> Response:
        ticket, body = self.get_object(), self.parse(ser.ReasonSerializer)
        return self.render(
            actions.do_terminate_ticket(
                ticket, actor=self.caller, reason=body["reason"], source=self.source
            )
        )

    @extend_schema(
        summary="Remind the handlers (requester, followers)",
        request=ser.CommentSerializer,
        responses=ACTED,
    )
    @action(detail=True, methods=["post"])
    def urge(self, request: Request, sn: str) -> Response:
        ticket, body = self.get_object(), self.parse(ser.CommentSerializer)
        return self.render(
            actions.do_urge_ticket(
                ticket, actor=self.caller, comment=body["comment"], source=self.source
            )
        )

    @extend_schema(summary="Comment", request=ser.CommentTextSerializer, responses=ACTED)
    @action(detail=True, methods=["post"])
    def comment(self, request: Request, sn: str) -> Response:
        ticket, body = self.get_object(), self.parse(ser.CommentTextSerializer)
        return self.render(
            actions.do_comment_ticket(
                ticket, actor=self.caller, text=body["text"], source=self.source
            )
        )

    @extend_schema(summary="Follow", request=None, responses=ACTED)
    @action(detail=True, methods=["post"])
    def follow(self, request: Request, sn: str) -> Response:
        ticket = self.get_object()
        actions.do_follow_ticket(ticket, actor=self.caller)
        return self.render(ticket)

    @extend_schema(summary="Stop following", request=None, responses=ACTED)
    @action(detail=True, methods=["post"])
    def unfollow(self, request: Request, sn: str) -> Response:
        ticket = self.get_object()
        actions.do_unfollow_ticket(ticket, actor=self.caller)
        return self.render(ticket)
