"""State changes of the API app: tokens, and ticket creation made safe to retry."""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from flowdesk.api.models import ApiToken, IdempotencyKey, hash_token, new_token_value
from flowdesk.audit.recording import record_token
from flowdesk.catalog.models import Service
from flowdesk.directory.access import is_flowdesk_admin
from flowdesk.directory.models import Business
from flowdesk.tickets.actions import do_submit_ticket
from flowdesk.tickets.models import Ticket


def do_create_token(
    user: AbstractBaseUser, *, name: str = "", actor: AbstractBaseUser | None
) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns it with the raw value, which is shown only once."""
    raw = new_token_value()
    with transaction.atomic(durable=True):
        token = ApiToken.objects.create(
            user=user, name=name, key_hash=hash_token(raw), prefix=raw[:10]
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
