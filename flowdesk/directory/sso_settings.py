"""Single sign-on settings from the environment (docs/security.md#single-sign-on).

Read by flowdesk/settings.py before the apps load, so nothing here may import models; the
backends themselves are in flowdesk/directory/sso.py. LDAP is on when FLOWDESK_LDAP_URI is set,
OpenID Connect when FLOWDESK_OIDC_CLIENT_ID is; local accounts always keep working.
"""

import json
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

LDAP_BACKEND = "flowdesk.directory.sso.FlowdeskLDAPBackend"
OIDC_BACKEND = "flowdesk.directory.sso.FlowdeskOIDCBackend"
OIDC_ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "FLOWDESK_OIDC_AUTHORIZATION_ENDPOINT",
    "OIDC_OP_TOKEN_ENDPOINT": "FLOWDESK_OIDC_TOKEN_ENDPOINT",
    "OIDC_OP_USER_ENDPOINT": "FLOWDESK_OIDC_USERINFO_ENDPOINT",
    "OIDC_OP_JWKS_ENDPOINT": "FLOWDESK_OIDC_JWKS_ENDPOINT",
}


def parse_role_map(text: str, name: str) -> dict[str, dict[str, str]]:
    """`{group: {"role": key[, "business": key]} | {"permission": admin group}}` from the JSON
    in environment variable `name`; a malformed map stops the start with a sentence saying why.
    Whether the keys exist is the database's to say, at sign-in (flowdesk.directory.sso)."""
    try:
        mapping = json.loads(text or "{}")
    except json.JSONDecodeError as error:
        raise ImproperlyConfigured(f"{name} is not valid JSON: {error}.") from None
    if not isinstance(mapping, dict):
        raise ImproperlyConfigured(f"{name} must be a JSON object of group → target.")
    for group, target in mapping.items():
        if not isinstance(target, dict) or set(target) not in (
            {"role"},
            {"role", "business"},
            {"permission"},
        ):
            raise ImproperlyConfigured(
                f'{name}: the target of {group!r} must be {{"role": key}}, '
                f'{{"role": key, "business": key}} or {{"permission": group}}.'
            )
    return mapping


def _required(env: Mapping[str, str], name: str, why: str) -> str:
    value = env.get(name, "")
    if not value:
        raise ImproperlyConfigured(f"{name} is required {why}.")
    return value


def ldap_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """django-auth-ldap's settings, or {} when FLOWDESK_LDAP_URI is unset."""
    if not env.get("FLOWDESK_LDAP_URI"):
        return {}
    from django_auth_ldap.config import GroupOfNamesType, LDAPSearch  # the `sso` extra
    from ldap import SCOPE_SUBTREE

    why = "when FLOWDESK_LDAP_URI is set"
    user_base = _required(env, "FLOWDESK_LDAP_USER_BASE", why)
    group_base = _required(env, "FLOWDESK_LDAP_GROUP_BASE", why)
    user_filter = env.get("FLOWDESK_LDAP_USER_FILTER", "(uid=%(user)s)")
    group_filter = env.get("FLOWDESK_LDAP_GROUP_FILTER", "(objectClass=groupOfNames)")
    role_map = parse_role_map(env.get("FLOWDESK_LDAP_ROLE_MAP", ""), "FLOWDESK_LDAP_ROLE_MAP")
    return {
        "AUTH_LDAP_SERVER_URI": env["FLOWDESK_LDAP_URI"],
        "AUTH_LDAP_BIND_DN": env.get("FLOWDESK_LDAP_BIND_DN", ""),
        "AUTH_LDAP_BIND_PASSWORD": env.get("FLOWDESK_LDAP_BIND_PASSWORD", ""),
        "AUTH_LDAP_START_TLS": env.get("FLOWDESK_LDAP_START_TLS", "") == "true",
        "AUTH_LDAP_USER_SEARCH": LDAPSearch(user_base, SCOPE_SUBTREE, user_filter),
        "AUTH_LDAP_GROUP_SEARCH": LDAPSearch(group_base, SCOPE_SUBTREE, group_filter),
        "AUTH_LDAP_GROUP_TYPE": GroupOfNamesType(),
        # The profile is written by FlowdeskLDAPBackend through do_save_user, not by the library.
        "AUTH_LDAP_ALWAYS_UPDATE_USER": False,
        # DNs compare case-insensitively; the library reports group DNs in lower case.
        "FLOWDESK_LDAP_ROLE_MAP": {group.lower(): t for group, t in role_map.items()},
    }


def oidc_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """mozilla-django-oidc's settings, or {} when FLOWDESK_OIDC_CLIENT_ID is unset."""
    if not env.get("FLOWDESK_OIDC_CLIENT_ID"):
        return {}
    why = "when FLOWDESK_OIDC_CLIENT_ID is set"
    endpoints = {key: _required(env, name, why) for key, name in OIDC_ENDPOINTS.items()}
    return {
        **endpoints,
        "OIDC_RP_CLIENT_ID": env["FLOWDESK_OIDC_CLIENT_ID"],
        "OIDC_RP_CLIENT_SECRET": _required(env, "FLOWDESK_OIDC_CLIENT_SECRET", why),
        "OIDC_RP_SIGN_ALGO": env.get("FLOWDESK_OIDC_SIGN_ALGO", "RS256"),
        "OIDC_RP_SCOPES": env.get("FLOWDESK_OIDC_SCOPES", "openid email profile"),
        "FLOWDESK_OIDC_ISSUER": env.get("FLOWDESK_OIDC_ISSUER", ""),
        "FLOWDESK_OIDC_GROUPS_CLAIM": env.get("FLOWDESK_OIDC_GROUPS_CLAIM", "groups"),
        "FLOWDESK_OIDC_ROLE_MAP": parse_role_map(
            env.get("FLOWDESK_OIDC_ROLE_MAP", ""), "FLOWDESK_OIDC_ROLE_MAP"
        ),
    }


def sso_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Every setting single sign-on needs; FLOWDESK_SSO_BACKENDS go before the local accounts'
    backend in AUTHENTICATION_BACKENDS."""
    ldap, oidc = ldap_settings(env), oidc_settings(env)
    return {
        **ldap,
        **oidc,
        "FLOWDESK_SSO_BACKENDS": [LDAP_BACKEND] * bool(ldap) + [OIDC_BACKEND] * bool(oidc),
        "FLOWDESK_OIDC_ENABLED": bool(oidc),
    }
