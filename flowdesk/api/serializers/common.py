"""Small pieces shared by the API's serializers."""

from django.db import models
from rest_framework import serializers

from flowdesk import engine
from flowdesk.texts import localized


def model_name(obj: models.Model) -> str:
    """A business, role, service... name in the reader's language (`name` / `name_zh`)."""
    return localized({"en": obj.name, "zh": obj.name_zh}, obj.key)


def node_name(defn: engine.Definition, node_id: str) -> str:
    return localized(defn.node(node_id).name, node_id)


class NodeRefSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class KeyNameSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.SerializerMethodField()

    def get_name(self, obj: models.Model) -> str:
        return model_name(obj)


def field_definitions(defn: engine.Definition, node_id: str) -> list[dict]:
    """The definitions of the fields a node fills, as written in the workflow document."""
    return [defn.fields[key] for key in defn.node(node_id).fields]
