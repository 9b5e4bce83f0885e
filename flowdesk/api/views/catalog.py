"""`/api/v1/catalog/` and `/api/v1/services/`: what the caller may request."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response

from flowdesk.api.serializers import catalog as ser
from flowdesk.api.views.base import ApiViewSet
from flowdesk.catalog.access import services_visible_to
from flowdesk.catalog.models import CatalogDirectory, Service


def _visible_services(request: Request):  # noqa: ANN202
    return services_visible_to(request.user).select_related("workflow", "directory")


@extend_schema(tags=["catalog"])
class CatalogViewSet(ApiViewSet):
    pagination_class = None
    queryset = CatalogDirectory.objects.none()

    @extend_schema(
        summary="The catalog tree with the services visible to the caller",
        responses={200: ser.CatalogSerializer},
    )
    def tree(self, request: Request) -> Response:
        tree = ser.catalog_tree(
            list(CatalogDirectory.objects.all()), list(_visible_services(request))
        )
        return Response(ser.CatalogSerializer(tree).data)


@extend_schema_view(
    list=extend_schema(summary="Services the caller may request"),
    retrieve=extend_schema(summary="A service with its submit form"),
)
@extend_schema(tags=["catalog"])
class ServiceViewSet(ApiViewSet):
    lookup_field = "key"
    lookup_value_regex = r"[-a-zA-Z0-9_]{1,64}"
    pagination_class = None
    serializer_class = ser.ServiceBriefSerializer
    queryset = Service.objects.none()

    def visible(self) -> QuerySet:
        return _visible_services(self.request)

    def list(self, request: Request) -> Response:
        return Response(self.get_serializer(self.get_queryset(), many=True).data)

    @extend_schema(responses={200: ser.ServiceSerializer})
    def retrieve(self, request: Request, key: str) -> Response:
        service: Service = self.get_object()
        context = {**self.get_serializer_context(), "version": service.current_version()}
        return Response(ser.ServiceSerializer(service, context=context).data)
