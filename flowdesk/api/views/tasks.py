"""`/api/v1/tasks/`: the to-do list, and acting on a task."""

from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from flowdesk.api.filtersets import TaskFilterSet
from flowdesk.api.pagination import OldestFirstPagination
from flowdesk.api.serializers import tickets as ser
from flowdesk.api.views.base import ApiViewSet
from flowdesk.api.views.tickets import EXPAND, TASK_ACTED, render_acted, wants_ticket
from flowdesk.engine import InvalidValues
from flowdesk.tickets import actions
from flowdesk.tickets.access import access_task
from flowdesk.tickets.models import Task, Ticket
from flowdesk.tickets.queries import tasks_actions


@extend_schema_view(
    list=extend_schema(
        summary="Open tasks of the tickets the caller may see; `todo=1`: the caller's to-do list"
    ),
    retrieve=extend_schema(summary="A task", responses={200: ser.TaskSerializer}),
)
@extend_schema(tags=["tasks"])
class TaskViewSet(ApiViewSet):
    lookup_value_regex = r"[0-9]{1,18}"
    pagination_class = OldestFirstPagination
    filterset_class = TaskFilterSet
    serializer_class = ser.TaskBriefSerializer
    queryset = Task.objects.none()

    def visible(self) -> QuerySet:
        if self.request.query_params.get("todo", "").lower() in {"1", "true"}:
            # The to-do list: a candidate is a participant, so no visibility check is needed,
            # and the lookup stays on the candidate index (docs/benchmarks.md, item 4).
            tasks = Task.objects.filter(candidates__user=self.caller)
        else:
            tasks = Task.objects.filter(
                status=Task.Status.OPEN, ticket__in=Ticket.objects.visible_to(self.caller)
            )
        return tasks.select_related("ticket__version", "ticket__service", "ticket__requester")

    def get_object(self) -> Task:
        return access_task(self.caller, int(self.kwargs["pk"]))

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        super().initial(request, *args, **kwargs)
        if request.method == "POST":
            wants_ticket(request)  # a mistyped `expand` is refused before the action runs

    def render(self, ticket: Ticket) -> Response:
        return render_acted(self, ticket, whole=wants_ticket(self.request))

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = {
            **self.get_serializer_context(),
            "task_actions": tasks_actions(self.caller, page),
        }
        serializer = self.get_serializer_class()(page, many=True, context=context)
        return self.get_paginated_response(serializer.data)

    def decide(self, do_action: Callable[..., Ticket]) -> Response:
        """Complete, approve or reject: the same body, one service-layer action."""
        task, body = self.get_object(), self.parse(ser.TaskValuesSerializer)
        ticket = do_action(
            task,
            actor=self.caller,
            values=body["fields"],
            comment=body["comment"],
            source=self.source,
            override_reason=body.get("override_reason"),
        )
        return self.render(ticket)

    def retrieve(self, request: Request, pk: str) -> Response:
        task = self.get_object()
        return Response(ser.TaskSerializer(task, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Fill in and complete",
        request=ser.TaskValuesSerializer,
        parameters=[EXPAND],
        responses=TASK_ACTED,
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str) -> Response:
        return self.decide(actions.do_complete_task)

    @extend_schema(
        summary="Approve",
        request=ser.TaskValuesSerializer,
        parameters=[EXPAND],
        responses=TASK_ACTED,
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        return self.decide(actions.do_approve_task)

    @extend_schema(
        summary="Reject",
        request=ser.TaskValuesSerializer,
        parameters=[EXPAND],
        responses=TASK_ACTED,
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        return self.decide(actions.do_reject_task)

    @extend_schema(
        summary="Send back to an earlier step",
        request=ser.ReturnSerializer,
        parameters=[EXPAND],
        responses=TASK_ACTED,
    )
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request: Request, pk: str) -> Response:
        task, body = self.get_object(), self.parse(ser.ReturnSerializer)
        return self.render(
            actions.do_return_task(
                task,
                actor=self.caller,
                target=body["target"],
                reason=body["reason"],
                source=self.source,
            )
        )

    @extend_schema(
        summary="Hand over to another person",
        request=ser.TransferSerializer,
        parameters=[EXPAND],
        responses=TASK_ACTED,
    )
    @action(detail=True, methods=["post"])
    def transfer(self, request: Request, pk: str) -> Response:
        task, body = self.get_object(), self.parse(ser.TransferSerializer)
        to_user = get_user_model().objects.filter(username=body["user"], is_active=True).first()
        if to_user is None:
            raise InvalidValues({"user": [f"No active user '{body['user']}'."]})
        try:
            ticket = actions.do_transfer_task(
                task,
                actor=self.caller,
                to_user=to_user,
                comment=body["comment"],
                source=self.source,
            )
        except InvalidValues as exc:  # the action names the field `to_user`; the body `user`
            raise InvalidValues(
                {"user" if k == "to_user" else k: v for k, v in exc.errors.items()}
            ) from exc
        return self.render(ticket)

    @extend_schema(
        summary="Claim a 'claim first' task",
        request=None,
        parameters=[EXPAND],
        responses=TASK_ACTED,
    )
    @action(detail=True, methods=["post"])
    def claim(self, request: Request, pk: str) -> Response:
        task = self.get_object()
        return self.render(actions.do_claim_task(task, actor=self.caller, source=self.source))
