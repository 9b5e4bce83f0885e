"""API tokens: listed by prefix; the raw value is returned once, when created."""

from rest_framework import serializers

from flowdesk.api.models import SCOPES


class TokenSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The token's first characters, to tell tokens apart.")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    scope = serializers.ChoiceField(SCOPES, help_text="read: GET only; write: everything.")
    expires_at = serializers.DateTimeField(allow_null=True, help_text="Null: never expires.")


class TokenCreatedSerializer(TokenSerializer):
    token = serializers.CharField(help_text="The token itself; shown only this once.")


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="", help_text="What it is for."
    )
    scope = serializers.ChoiceField(
        SCOPES, default="write", help_text="read: the token may only GET."
    )
    expires = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=10,
        help_text="Lifetime: e.g. 90d or 12h, or never; empty: the server's default.",
    )
