"""Single sign-on backends: LDAP (django-auth-ldap) and OpenID Connect (mozilla-django-oidc).

Both write through the directory actions: the profile with `do_save_user`, role membership and
administrative permissions with `do_add_role_member` / `do_remove_role_member` and
`do_grant_admin_permission` / `do_revoke_admin_permission`, each audited. The group → role map is
authoritative for the roles and permissions it names only: memberships given by hand in Flowdesk
to roles the map does not name are left alone. Settings: flowdesk/directory/sso_settings.py.
"""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django_auth_ldap.backend import LDAPBackend
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from flowdesk.directory import actions
from flowdesk.directory.models import Business, Role

logger = logging.getLogger(__name__)


def sync_groups(
    user: AbstractBaseUser, groups: Iterable[str], role_map: dict[str, dict[str, str]]
) -> None:
    """Make the user's mapped roles and permissions match the identity provider's `groups`.

    A target several groups map to is kept while any of them holds the user. Targets naming a
    role, business or permission that does not exist are logged and skipped, not fatal.
    """
    held = set(groups)
    wanted: dict[tuple[str, str, str], bool] = {}
    for group, target in role_map.items():
        key = (target.get("role", ""), target.get("business", ""), target.get("permission", ""))
        wanted[key] = wanted.get(key, False) or group in held
    for (role, business, permission), member in wanted.items():
        try:
            if permission:
                _set_permission(user, permission, member)
            else:
                _set_role(user, role, business, member)
        except (Role.DoesNotExist, Business.DoesNotExist, ValidationError) as error:
            target = permission or f"{role}/{business}"
            logger.error("SSO role map: cannot apply %s: %s", target, error)


def _set_role(user: AbstractBaseUser, role: str, business: str, member: bool) -> None:
    the_role = Role.objects.get(key=role)
    the_business = Business.objects.get(key=business) if business else None
    change = actions.do_add_role_member if member else actions.do_remove_role_member
    change(the_role, user, business=the_business, actor=None)


def _set_permission(user: AbstractBaseUser, permission: str, member: bool) -> None:
    change = actions.do_grant_admin_permission if member else actions.do_revoke_admin_permission
    change(user, permission, actor=None)


def _save_profile(username: str, email: str, display_name: str) -> AbstractBaseUser:
    user, _changes = actions.do_save_user(
        username, email=email, display_name=display_name, actor=None
    )
    return user


class FlowdeskLDAPBackend(LDAPBackend):
    """Signs in against the directory; the profile comes from `mail` and `displayName` (or `cn`),
    roles from the groups the user is a member of."""

    def get_or_build_user(self, username: str, ldap_user: object) -> tuple[AbstractBaseUser, bool]:
        attrs = ldap_user.attrs
        name = (attrs.get("displayname") or attrs.get("cn") or [""])[0]
        return _save_profile(username, (attrs.get("mail") or [""])[0], name), False

    def authenticate_ldap_user(self, ldap_user: object, password: str) -> AbstractBaseUser | None:
        user = super().authenticate_ldap_user(ldap_user, password)
        if user is not None:
            sync_groups(user, ldap_user.group_dns, settings.FLOWDESK_LDAP_ROLE_MAP)
        return user


class FlowdeskOIDCBackend(OIDCAuthenticationBackend):
    """Matches people by `preferred_username` (never by e-mail, which an identity provider may
    let users choose); the `groups` claim (FLOWDESK_OIDC_GROUPS_CLAIM) gives the roles."""

    def verify_claims(self, claims: dict) -> bool:
        return bool(claims.get("preferred_username"))

    def filter_users_by_claims(self, claims: dict):  # noqa: ANN201 – the library's QuerySet
        return self.UserModel.objects.filter(username=claims["preferred_username"])

    def create_user(self, claims: dict) -> AbstractBaseUser:
        return self.update_user(None, claims)

    def update_user(self, user: AbstractBaseUser | None, claims: dict) -> AbstractBaseUser:
        user = _save_profile(
            claims["preferred_username"], claims.get("email", ""), claims.get("name", "")
        )
        groups = claims.get(settings.FLOWDESK_OIDC_GROUPS_CLAIM) or []
        sync_groups(user, groups, settings.FLOWDESK_OIDC_ROLE_MAP)
        return user
