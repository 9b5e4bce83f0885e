"""What every API view shares: text checks on the query and path, permissions, body parsing."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from rest_framework import exceptions, permissions, serializers, viewsets
from rest_framework.request import Request
from rest_framework.views import APIView

from flowdesk.api.parsers import unstorable
from flowdesk.directory.access import can_design_workflows, is_flowdesk_admin


class ApiViewSet(viewsets.GenericViewSet):
    # Subclasses set `queryset` to `Model.objects.none()` (for the schema) and define
    # `visible()`: the rows the caller may see.

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):  # the schema generator, no caller
            return self.queryset
        return self.visible()

    def visible(self) -> QuerySet:
        return self.queryset.all()

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        super().initial(request, *args, **kwargs)
        query = {key: request.query_params.getlist(key) for key in request.query_params}
        if problem := unstorable([query, kwargs]):
            raise exceptions.ParseError(problem)

    @property
    def caller(self) -> AbstractBaseUser:
        return self.request.user

    @property
    def source(self) -> str:
        """ "cli" for the `flowdesk` command-line client (it says so in its User-Agent)."""
        agent = self.request.headers.get("User-Agent", "")
        return "cli" if agent.startswith("flowdesk-cli/") else "api"

    def parse(self, serializer_class: type[serializers.Serializer]) -> dict:
        """The request body, validated by `serializer_class` (400 with per-field errors)."""
        data = self.request.data
        if not isinstance(data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
        body = serializer_class(data=data)
        body.is_valid(raise_exception=True)
        return body.validated_data


class IsFlowdeskAdmin(permissions.BasePermission):
    message = "Only Flowdesk admins may manage people and roles."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.user.is_authenticated and is_flowdesk_admin(request.user)


class CanDesignWorkflows(permissions.BasePermission):
    message = "Only workflow designers may read and change workflows."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.user.is_authenticated and can_design_workflows(request.user)
