"""`/api/v1/users|businesses|roles/`: the directory, for Flowdesk admins."""

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from flowdesk.api.pagination import ByUsernamePagination
from flowdesk.api.serializers import directory as ser
from flowdesk.api.views.base import ApiViewSet, IsFlowdeskAdmin
from flowdesk.directory.actions import do_add_role_member, do_remove_role_member
from flowdesk.directory.models import Business, Role, RoleMembership
from flowdesk.engine import InvalidValues


@extend_schema_view(list=extend_schema(summary="Users"))
@extend_schema(tags=["directory"])
class UserViewSet(ApiViewSet):
    permission_classes = [IsFlowdeskAdmin]
    pagination_class = ByUsernamePagination
    serializer_class = ser.UserSerializer
    queryset = get_user_model().objects.none()

    def visible(self) -> QuerySet:
        return get_user_model().objects.select_related("profile")

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema_view(list=extend_schema(summary="Businesses"))
@extend_schema(tags=["directory"])
class BusinessViewSet(ApiViewSet):
    permission_classes = [IsFlowdeskAdmin]
    pagination_class = None
    serializer_class = ser.BusinessSerializer
    queryset = Business.objects.all()

    def list(self, request: Request) -> Response:
        return Response(self.get_serializer(self.get_queryset(), many=True).data)


@extend_schema_view(list=extend_schema(summary="Roles with their members (per business)"))
@extend_schema(tags=["directory"])
class RoleViewSet(ApiViewSet):
    permission_classes = [IsFlowdeskAdmin]
    pagination_class = None
    serializer_class = ser.RoleSerializer
    queryset = Role.objects.none()
    lookup_field = "key"
    lookup_value_regex = r"[A-Za-z][A-Za-z0-9_-]{0,63}"

    def visible(self) -> QuerySet:
        members = RoleMembership.objects.select_related("user", "business").order_by(
            "business__key", "user__username"
        )
        return Role.objects.prefetch_related(Prefetch("memberships", queryset=members))

    def list(self, request: Request) -> Response:
        return Response(self.get_serializer(self.get_queryset(), many=True).data)

    @extend_schema(
        methods=["POST"],
        summary="Add a member",
        request=ser.MembershipInputSerializer,
        responses={200: ser.RoleSerializer},
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Remove a member (body, or the same fields as query parameters)",
        request=ser.MembershipInputSerializer,
        responses={200: ser.RoleSerializer},
    )
    @action(detail=True, methods=["post", "delete"])
    def members(self, request: Request, key: str) -> Response:
        role: Role = self.get_object()
        data = request.data or request.query_params
        body = ser.MembershipInputSerializer(data=data)
        body.is_valid(raise_exception=True)
        user, business = self._membership(body.validated_data)
        change = do_add_role_member if request.method == "POST" else do_remove_role_member
        change(role, user, business=business, actor=self.caller)
        return Response(self.get_serializer(self.get_queryset().get(pk=role.pk)).data)

    def _membership(self, body: dict) -> tuple:
        user = get_user_model().objects.filter(username=body["user"]).first()
        errors = {} if user else {"user": [f"No user '{body['user']}'."]}
        business = None
        if body["business"]:
            business = Business.objects.filter(key=body["business"]).first()
            if business is None:
                errors["business"] = [f"No business '{body['business']}'."]
        if errors:
            raise InvalidValues(errors)
        return user, business
