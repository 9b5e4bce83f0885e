"""State changes of the API app: tokens, and ticket creation made safe to retry."""

import re
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from flowdesk.api.models import SCOPES, ApiToken, IdempotencyKey, hash_token, new_token_value
from flowdesk.audit.recording import record_token
from flowdesk.catalog.models import Service
from flowdesk.directory.access import is_flowdesk_admin
from flowdesk.directory.models import Business
from flowdesk.tickets.actions import do_submit_ticket
from flowdesk.tickets.models import Ticket

_LIFETIME = re.compile(r"([1-9][0-9]{0,4})([dh])")


def token_expiry(lifetime: str | None) -> datetime | None:
    """When a token asked for with `lifetime` expires: "90d", "12h", "never", or empty for
    the default (FLOWDESK_TOKEN_DEFAULT_DAYS; 0 = never). ValueError says what is wrong."""
    lifetime = (lifetime or "").strip().lower()
    if lifetime == "never":
        return None
    if not lifetime:
        days = settings.FLOWDESK_TOKEN_DEFAULT_DAYS
        return timezone.now() + timedelta(days=days) if days else None
    if not (match := _LIFETIME.fullmatch(lifetime)):
        raise ValueError("Give the lifetime as days or hours, e.g. 90d or 12h, or 'never'.")
    number, unit = int(match[1]), match[2]
    return timezone.now() + (timedelta(days=number) if unit == "d" else timedelta(hours=number))


def do_create_token(
    user: AbstractBaseUser,
    *,
    name: str = "",
    scope: str = "write",
    expires_at: datetime | None = None,
    actor: AbstractBaseUser | None,
) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns it with the raw value, which is shown only once.
    `scope` "read" limits it to GET; `expires_at` None: it never expires (see token_expiry)."""
    if scope not in SCOPES:
        raise ValidationError({"scope": f"Choose one of: {', '.join(SCOPES)}."})
    raw = new_token_value()
    with transaction.atomic(durable=True):
        token = ApiToken.objects.create(
            user=user,
            name=name,
            key_hash=hash_token(raw),
            prefix=raw[:10],
            scope=scope,
            expires_at=expires_at,
        )
        record_token("token.created", token, actor=actor)
    return token, raw


def do_revoke_token(token: ApiToken, *, actor: AbstractBaseUser | None) -> bool:
    """Revoke a token for good; its owner or an admin may. False if it was revoked already."""
    if actor is not None and actor.pk != token.user_id and not is_flowdesk_admin(actor):
        raise PermissionDenied("You may revoke only your own tokens.")
    with transaction.atomic(durable=True):
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(
            revoked_at=timezone.now()
        )
        if revoked:
            record_token("token.revoked", token, actor=actor)
    return bool(revoked)


def do_submit_ticket_once(
    service: Service,
    *,
    actor: AbstractBaseUser,
    idempotency_key: str | None,
    title: str,
    values: dict,
    business: Business | None = None,
    source: str = "api",
) -> tuple[Ticket, bool]:
    """`do_submit_ticket`, except that a retry with the same key returns the first ticket.

    Returns (ticket, created). The key is written in the ticket's own transaction, so they
    commit or vanish together; a concurrent duplicate fails on the unique (user, key)
    constraint, its ticket rolls back, and it answers with the first one.
    """
    submit = {"actor": actor, "title": title, "values": values, "business": business}
    if not idempotency_key:
        return do_submit_ticket(service, source=source, **submit), True
    if (earlier := _ticket_for(actor, idempotency_key)) is not None:
        return earlier, False

    def remember_key(ticket: Ticket) -> None:
        IdempotencyKey.objects.create(user=actor, key=idempotency_key, ticket=ticket)

    try:
        return do_submit_ticket(service, source=source, on_created=remember_key, **submit), True
    except IntegrityError:
        if (earlier := _ticket_for(actor, idempotency_key)) is None:
            raise
        return earlier, False


def _ticket_for(actor: AbstractBaseUser, key: str) -> Ticket | None:
    row = IdempotencyKey.objects.filter(user=actor, key=key).select_related("ticket").first()
    return row.ticket if row else None
