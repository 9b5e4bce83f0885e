"""API tokens: `Authorization: Token <token>`; only a hash of each token is stored."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

TOKEN_PREFIX = "fd_"
SCOPES = ("read", "write")  # read: GET, HEAD and OPTIONS only; write: everything the user may


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True)
    # The first characters, shown in lists so a user can tell tokens apart.
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Null: never expires. An expired token authenticates nothing (401), like a revoked one.
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    scope = models.CharField(
        _("scope"), max_length=10, choices=[(s, s) for s in SCOPES], default="write"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


def new_token_value() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class IdempotencyKey(models.Model):
    """An `Idempotency-Key` a user sent with a create, and the ticket it created (written in
    the ticket's transaction, so a concurrent retry hits the unique constraint)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="unique_idempotency_key")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"
