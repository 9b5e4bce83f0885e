"""People, businesses and roles with their members."""

from rest_framework import serializers

from flowdesk.directory.models import Role


class UserSerializer(serializers.Serializer):
    username = serializers.CharField()
    display_name = serializers.SerializerMethodField()
    email = serializers.CharField()
    is_active = serializers.BooleanField()

    def get_display_name(self, user: object) -> str:
        profile = getattr(user, "profile", None)
        return profile.display_name if profile else ""


class BusinessSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    name_zh = serializers.CharField()
    is_active = serializers.BooleanField()


class MemberSerializer(serializers.Serializer):
    user = serializers.CharField(source="user.username")
    business = serializers.CharField(source="business.key", allow_null=True)


class RoleSerializer(serializers.Serializer):
    key = serializers.CharField()
    kind = serializers.ChoiceField(choices=Role.Kind.choices)
    name = serializers.CharField()
    name_zh = serializers.CharField()
    members = MemberSerializer(source="memberships.all", many=True)


class MembershipInputSerializer(serializers.Serializer):
    user = serializers.CharField(max_length=150, help_text="Username.")
    business = serializers.CharField(
        max_length=64,
        required=False,
        allow_null=True,
        default=None,
        help_text="Business key: required for business roles, absent for general roles.",
    )
