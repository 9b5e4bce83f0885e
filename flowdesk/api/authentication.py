"""`Authorization: Token <token>`: the presented token is hashed and looked up by its hash."""

from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from flowdesk.api.models import ApiToken, hash_token

# last_used_at is written at most this often, so a busy pipeline does not write on every call.
LAST_USED_PRECISION = timedelta(minutes=1)


class TokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiToken] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the header as 'Authorization: Token <token>'."
            )
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        now = timezone.now()
        token = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=hash_token(raw), revoked_at=None, user__is_active=True)
            .filter(Q(expires_at=None) | Q(expires_at__gt=now))
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired token.")
        # Checked here, before any view runs, so no viewset's own permissions can skip it.
        if token.scope != "write" and request.method not in permissions.SAFE_METHODS:
            raise exceptions.PermissionDenied(
                "This token is read-only: it may only read (GET). Use a token with the "
                "'write' scope to change anything."
            )
        _note_use(token, now)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def _note_use(token: ApiToken, now: datetime) -> None:
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        # Conditional, so concurrent requests write once; bookkeeping, not a domain change.
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at=None) | Q(last_used_at__lte=now - LAST_USED_PRECISION)
        ).update(last_used_at=now)


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = TokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <token>`; create one with `flowdesk token create USER` "
            "or POST /api/v1/tokens/. A token with the `read` scope may only GET; an expired "
            "token is refused with 401.",
        }
