"""Who is who: administrative permissions and the roles a user holds.

Administrative permissions are Django groups, created by a data migration (see ADMIN_GROUPS);
grant and revoke them with `do_grant_admin_permission` / `do_revoke_admin_permission`.
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

FLOWDESK_ADMINS = "flowdesk-admins"
WORKFLOW_DESIGNERS = "workflow-designers"
SERVICE_OWNERS = "service-owners"

ADMIN_GROUPS: dict[str, str] = {
    FLOWDESK_ADMINS: "Flowdesk admin: everything, including people, roles and permissions",
    WORKFLOW_DESIGNERS: "Design and deploy workflows",
    SERVICE_OWNERS: "Manage services and the service catalog",
}

_CACHE = "_flowdesk_admin_groups"


def admin_groups_of(user: AbstractBaseUser | AnonymousUser) -> frozenset[str]:
    """The administrative groups an active user is in (one query, then cached on the user)."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, _CACHE, None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=ADMIN_GROUPS).values_list("name", flat=True))
        setattr(user, _CACHE, cached)
    return cached


def forget_admin_groups(user: AbstractBaseUser) -> None:
    """Drop the cached groups, after a grant or revoke."""
    if hasattr(user, _CACHE):
        delattr(user, _CACHE)


def is_flowdesk_admin(user: AbstractBaseUser | AnonymousUser) -> bool:
    if user.is_authenticated and user.is_active and user.is_superuser:
        return True
    return FLOWDESK_ADMINS in admin_groups_of(user)


def can_design_workflows(user: AbstractBaseUser | AnonymousUser) -> bool:
    return is_flowdesk_admin(user) or WORKFLOW_DESIGNERS in admin_groups_of(user)


def can_manage_services(user: AbstractBaseUser | AnonymousUser) -> bool:
    return is_flowdesk_admin(user) or SERVICE_OWNERS in admin_groups_of(user)


def user_business_roles(user: AbstractBaseUser | AnonymousUser) -> dict[str, set[str]]:
    """{business key: {role key, ...}} of the user's business-role memberships (one query)."""
    if not user.is_authenticated:
        return {}
    roles: dict[str, set[str]] = {}
    rows = user.role_memberships.filter(business__isnull=False).values_list(
        "business__key", "role__key"
    )
    for business, role in rows:
        roles.setdefault(business, set()).add(role)
    return roles


def user_general_roles(user: AbstractBaseUser | AnonymousUser) -> set[str]:
    """Keys of the general roles the user holds (one query)."""
    if not user.is_authenticated:
        return set()
    return set(
        user.role_memberships.filter(business__isnull=True).values_list("role__key", flat=True)
    )
