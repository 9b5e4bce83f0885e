"""The directory as the workflow engine sees it: usernames and role keys, nothing else.

`DjangoDirectory` answers who holds a role when a task opens; `DjangoRoleCatalog` says which
roles, users and work calendars exist when a workflow is deployed. Each method is one query.
"""

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model

from flowdesk.directory.models import Profile, Role
from flowdesk.sla.models import WorkCalendar

User = get_user_model()


class DjangoDirectory:
    """Role members, managers and users, from the database. Only active users count."""

    def business_role_members(self, role: str, business: str) -> list[str]:
        """Active users holding the business role in the business, ordered by username."""
        return list(
            User.objects.filter(
                is_active=True,
                role_memberships__role__key=role,
                role_memberships__business__key=business,
            )
            .order_by("username")
            .values_list("username", flat=True)
        )

    def general_role_members(self, role: str) -> list[str]:
        """Active users holding the general role, ordered by username."""
        return list(
            User.objects.filter(
                is_active=True,
                role_memberships__role__key=role,
                role_memberships__business__isnull=True,
            )
            .order_by("username")
            .values_list("username", flat=True)
        )

    def manager_of(self, user: str) -> str | None:
        """The user's manager, if they have one and the manager is active."""
        return (
            Profile.objects.filter(user__username=user, manager__is_active=True)
            .values_list("manager__username", flat=True)
            .first()
        )

    def existing_users(self, users: Iterable[str]) -> set[str]:
        """The active users among these usernames."""
        names = set(users)
        if not names:
            return set()
        return set(
            User.objects.filter(is_active=True, username__in=names).values_list(
                "username", flat=True
            )
        )


class DjangoRoleCatalog:
    """Which roles, users and work calendars exist, to check a workflow when it is deployed."""

    def business_roles(self) -> set[str]:
        return set(Role.objects.filter(kind=Role.Kind.BUSINESS).values_list("key", flat=True))

    def general_roles(self) -> set[str]:
        return set(Role.objects.filter(kind=Role.Kind.GENERAL).values_list("key", flat=True))

    def users(self) -> set[str]:
        """Usernames of the active users."""
        return set(User.objects.filter(is_active=True).values_list("username", flat=True))

    def calendars(self) -> set[str]:
        """Names of the work calendars (a node's sla.calendar and timer.calendar)."""
        return set(WorkCalendar.objects.values_list("name", flat=True))

    def secrets(self) -> set[str]:
        """Names of the server's automation secrets (FLOWDESK_SECRET_<NAME>)."""
        return set(settings.FLOWDESK_SECRETS)
