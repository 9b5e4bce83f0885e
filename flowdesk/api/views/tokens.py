"""`/api/v1/tokens/`: the caller's own API tokens."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from flowdesk.api.actions import do_create_token, do_revoke_token, token_expiry
from flowdesk.api.models import ApiToken
from flowdesk.api.serializers import tokens as ser
from flowdesk.api.views.base import ApiViewSet


@extend_schema_view(
    list=extend_schema(summary="The caller's tokens (revoked ones too)"),
    create=extend_schema(
        summary="Create a token; the response holds it, shown only this once",
        request=ser.TokenCreateSerializer,
        responses={201: ser.TokenCreatedSerializer},
    ),
    destroy=extend_schema(summary="Revoke a token"),
)
@extend_schema(tags=["tokens"])
class TokenViewSet(ApiViewSet):
    pagination_class = None
    serializer_class = ser.TokenSerializer
    queryset = ApiToken.objects.none()
    lookup_value_regex = r"[0-9]{1,18}"

    def visible(self) -> QuerySet:
        return ApiToken.objects.filter(user=self.caller)

    def list(self, request: Request) -> Response:
        return Response(self.get_serializer(self.get_queryset(), many=True).data)

    def create(self, request: Request) -> Response:
        body = self.parse(ser.TokenCreateSerializer)
        try:
            expires_at = token_expiry(body["expires"])
        except ValueError as error:
            raise exceptions.ValidationError({"expires": [str(error)]}) from None
        token, raw = do_create_token(
            self.caller,
            name=body["name"],
            scope=body["scope"],
            expires_at=expires_at,
            actor=self.caller,
        )
        token.token = raw
        return Response(ser.TokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: str) -> Response:
        do_revoke_token(self.get_object(), actor=self.caller)
        return Response(status=status.HTTP_204_NO_CONTENT)
