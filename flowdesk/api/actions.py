"""State changes of the API app: tokens, and ticket creation made safe to retry."""

from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from flowdesk.api.models import ApiToken, IdempotencyKey, hash_token, new_token_value
from flowdesk.catalog.models import Service
from flowdesk.directory.access import is_flowdesk_admin
from flowdesk.directory.models import Business
from flowdesk.engine import EngineError
from flowdesk.tickets.actions import do_submit_ticket
from flowdesk.tickets.models import Ticket

# A reservation without a ticket this old was left by a request that died mid-way.
ABANDONED_AFTER = timedelta(minutes=10)


class RequestInProgress(EngineError):
    """Another request with the same Idempotency-Key is still creating its ticket."""

    code = "conflict"


def do_create_token(
    user: AbstractBaseUser, *, name: str = "", actor: AbstractBaseUser | None
) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns it with the raw value, which is shown only once."""
    raw = new_token_value()
    with transaction.atomic(durable=True):
        token = ApiToken.objects.create(
            user=user, name=name, key_hash=hash_token(raw), prefix=raw[:10]
        )
    return token, raw


def do_revoke_token(token: ApiToken, *, actor: AbstractBaseUser | None) -> bool:
    """Revoke a token for good; its owner or an admin may. False if it was revoked already."""
    if actor is not None and actor.pk != token.user_id and not is_flowdesk_admin(actor):
        raise PermissionDenied("You may revoke only your own tokens.")
    with transaction.atomic(durable=True):
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(
            revoked_at=timezone.now()
        )
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

    Returns (ticket, created). do_submit_ticket runs its own durable transaction, so the key is
    reserved first, in a transaction of its own: a concurrent duplicate fails on the unique
    (user, key) constraint instead of creating a second ticket. A failed submit frees the key.
    """
    submit = {"actor": actor, "title": title, "values": values, "business": business}
    if not idempotency_key:
        return do_submit_ticket(service, source=source, **submit), True
    if (earlier := _reserve(actor, idempotency_key)) is not None:
        return earlier, False
    try:
        ticket = do_submit_ticket(service, source=source, **submit)
    except BaseException:
        IdempotencyKey.objects.filter(user=actor, key=idempotency_key, ticket=None).delete()
        raise
    IdempotencyKey.objects.filter(user=actor, key=idempotency_key).update(ticket=ticket)
    return ticket, True


def _reserve(actor: AbstractBaseUser, key: str) -> Ticket | None:
    """Reserve `key` for a new ticket, or return the ticket an earlier request created."""
    for _attempt in range(3):
        try:
            with transaction.atomic(durable=True):
                IdempotencyKey.objects.create(user=actor, key=key)
            return None
        except IntegrityError:
            row = IdempotencyKey.objects.filter(user=actor, key=key).first()
        if row is None:
            continue  # the other request failed and freed the key meanwhile
        if row.ticket_id is not None:
            return Ticket.objects.get(pk=row.ticket_id)
        if timezone.now() - row.created_at < ABANDONED_AFTER:
            break
        IdempotencyKey.objects.filter(pk=row.pk, ticket=None).delete()
    raise RequestInProgress(
        "A request with this Idempotency-Key is still creating its ticket; retry in a moment."
    )
