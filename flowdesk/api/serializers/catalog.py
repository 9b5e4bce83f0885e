"""Services and the catalog tree; a service's detail carries what a client needs for its form."""

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from flowdesk import engine
from flowdesk.api.serializers.common import field_definitions, model_name
from flowdesk.catalog.models import CatalogDirectory, Service
from flowdesk.directory.models import Business
from flowdesk.directory.resolver import DjangoDirectory
from flowdesk.tickets.persistence import iso


class ServiceBriefSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.SerializerMethodField()
    description = serializers.CharField()
    type = serializers.CharField(source="workflow.type")
    directory = serializers.CharField(source="directory.key", allow_null=True)

    def get_name(self, service: Service) -> str:
        return model_name(service)


class BusinessChoiceSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.SerializerMethodField()

    def get_name(self, business: Business) -> str:
        return model_name(business)


class ServiceSerializer(ServiceBriefSerializer):
    """A service with its submit form: the start step's fields and the businesses to choose.

    Needs `version` (the service's current version) in the context.
    """

    workflow = serializers.CharField(source="workflow.key")
    version = serializers.SerializerMethodField()
    business_required = serializers.SerializerMethodField()
    fields = serializers.SerializerMethodField(method_name="field_definitions")
    businesses = serializers.SerializerMethodField()

    @property
    def definition(self) -> engine.Definition | None:
        version = self.context["version"]
        return version.definition if version else None

    def get_version(self, service: Service) -> int | None:
        return self.context["version"].number if self.context["version"] else None

    def get_business_required(self, service: Service) -> bool:
        return self.definition is not None and self.definition.scope == "business"

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def field_definitions(self, service: Service) -> list[dict]:
        defn = self.definition
        return field_definitions(defn, defn.start) if defn else []

    @extend_schema_field(BusinessChoiceSerializer(many=True))
    def get_businesses(self, service: Service) -> list[dict]:
        defn = self.definition
        if defn is None or defn.scope != "business":
            return []
        user = self.context["request"].user
        choices = [b for b in Business.objects.filter(is_active=True) if _may_submit(defn, user, b)]
        return BusinessChoiceSerializer(choices, many=True).data


def _may_submit(defn: engine.Definition, user: AbstractBaseUser, business: Business) -> bool:
    """Whether the user is among the start step's operators for tickets of this business."""
    start = defn.node(defn.start)
    if not start.operators:
        return True
    context = engine.Context(
        now=iso(timezone.now()),
        requester=user.get_username(),
        business=business.key,
        directory=DjangoDirectory(),
        service_owners=(),
    )
    state = {"values": dict(defn.defaults), "handlers": {}}
    return user.get_username() in engine.resolve_operators(defn, start, state, context).users


class CatalogDirectorySerializer(serializers.Serializer):
    """A directory of the catalog with its visible services and subdirectories."""

    key = serializers.CharField()
    name = serializers.CharField()
    services = ServiceBriefSerializer(many=True)

    def get_fields(self) -> dict:
        fields = super().get_fields()
        fields["children"] = CatalogDirectorySerializer(many=True)
        return fields


class CatalogSerializer(serializers.Serializer):
    directories = CatalogDirectorySerializer(many=True)
    services = ServiceBriefSerializer(many=True, help_text="Services in no directory.")


def catalog_tree(directories: list[CatalogDirectory], services: list[Service]) -> dict:
    """The directories holding visible services at any depth (empty ones left out), and the
    services in no directory."""
    children: dict[int | None, list[CatalogDirectory]] = {}
    for directory in directories:
        children.setdefault(directory.parent_id, []).append(directory)
    held: dict[int | None, list[Service]] = {}
    for service in services:
        held.setdefault(service.directory_id, []).append(service)

    def build(parent: int | None) -> list[dict]:
        nodes = []
        for directory in children.get(parent, []):
            node = {
                "key": directory.key,
                "name": model_name(directory),
                "services": held.get(directory.pk, []),
                "children": build(directory.pk),
            }
            if node["services"] or node["children"]:
                nodes.append(node)
        return nodes

    return {"directories": build(None), "services": held.get(None, [])}
