"""Writing the audit log: `record` appends one entry to the hash chain, inside the caller's
transaction, so the entry commits or rolls back with the action it describes.

Where an entry's source and client address come from: an explicit `source=` (ticket actions
pass theirs) wins; otherwise `AuditContextMiddleware` has stored the current request, whose
path tells web from API and whose REMOTE_ADDR is the client address. Outside a request, an
action with no actor is the local operator at the command line ("cli"), anything else
"system". Behind a reverse proxy REMOTE_ADDR is the proxy's unless the proxy's address is
rewritten before Django sees it.
"""

import json
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.db.transaction import TransactionManagementError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from flowdesk.audit.models import GENESIS_HASH, AuditEntry, ChainHead, canonical_json

Actor = AbstractBaseUser | None
HEAD = 1  # the primary key of the single chain-head row

_request: ContextVar[HttpRequest | None] = ContextVar("flowdesk_audit_request", default=None)


class AuditContextMiddleware:
    """Keep the current request (its user and REMOTE_ADDR) where `record` can read it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


@dataclass(frozen=True)
class Spec:
    """One entry to append, before it has a place in the chain."""

    action: str
    actor: Actor
    obj_type: str
    obj_id: str
    label: str
    data: Any
    source: str | None = None
    address: str | None = None


def record(
    action: str,
    *,
    actor: Actor,
    obj_type: str,
    obj_id: object,
    label: str = "",
    data: Any = None,
    source: str | None = None,
    address: str | None = None,
) -> AuditEntry:
    """Append one entry; call it inside the action's transaction. `label` defaults to
    "<type> <id>"; `data` is anything JSON-able (dates and decimals become strings)."""
    obj_id = str(obj_id)
    label = label or f"{obj_type} {obj_id}"
    (entry,) = append([Spec(action, actor, obj_type, obj_id, label, data, source, address)])
    return entry


def append(specs: list[Spec]) -> list[AuditEntry]:
    """Append entries in order under the chain-head lock (held until the caller commits, so
    callers append as late in their transaction as they can: every other writer waits)."""
    if not transaction.get_connection().in_atomic_block:
        raise TransactionManagementError("Audit entries are recorded inside the action's atomic().")
    head = _lock_head()
    now = timezone.now()  # read under the lock, so time never goes backwards along the chain
    request = _request.get()
    entries = []
    seq, prev = head.seq, head.hash
    for spec in specs:
        actor = spec.actor or _request_user(request)
        source = spec.source or _default_source(request, actor)
        seq += 1
        entry = AuditEntry(
            seq=seq,
            at=now,
            actor=actor,
            actor_name=actor.get_username() if actor else _nobody(source),
            source=source,
            address=spec.address or (request.META.get("REMOTE_ADDR", "") if request else ""),
            obj_type=spec.obj_type,
            obj_id=spec.obj_id[:150],
            label=spec.label[:200],
            action=spec.action,
            data_json=normalised_json(spec.data),
            prev_hash=prev,
        )
        entry.hash = prev = entry.compute_hash()
        entries.append(entry)
    AuditEntry.objects.bulk_create(entries)
    ChainHead.objects.filter(pk=HEAD).update(seq=seq, hash=prev)
    return entries


def normalised_json(data: Any) -> str:
    """Canonical JSON of `data` as it reads back (string keys, tuples as lists)."""
    plain = json.loads(json.dumps({} if data is None else data, cls=DjangoJSONEncoder))
    return canonical_json(plain)


def _lock_head() -> ChainHead:
    head = ChainHead.objects.select_for_update().filter(pk=HEAD).first()
    if head is not None:
        return head
    # First entry ever (or the table was emptied): start from the log's last entry, if any.
    last = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
    try:
        with transaction.atomic():
            seq, hash_ = last or (0, GENESIS_HASH)
            ChainHead.objects.create(pk=HEAD, seq=seq, hash=hash_)
    except IntegrityError:
        pass  # a concurrent first append created it
    return ChainHead.objects.select_for_update().get(pk=HEAD)


def _request_user(request: HttpRequest | None) -> Actor:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _default_source(request: HttpRequest | None, actor: Actor) -> str:
    if request is not None:
        return AuditEntry.Source.API if request.path.startswith("/api/") else AuditEntry.Source.WEB
    return AuditEntry.Source.CLI if actor is None else AuditEntry.Source.SYSTEM


def _nobody(source: str) -> str:
    return "(operator)" if source == AuditEntry.Source.CLI else "(system)"


# --- what the apps' actions call ---------------------------------------------------------------


def record_ticket_events(ticket: Any, events: list[tuple]) -> None:
    """One entry per ticket history event (kind, actor, node, task key, data), in order.

    The events an action causes (a task assigned, the ticket ended) carry no actor of their
    own; they are attributed to the person whose action caused them.
    """
    if not events:
        return
    cause = events[0][1]
    source = next((data["source"] for *_, data in events if data.get("source")), None)
    label = f"ticket {ticket.sn}"
    specs = []
    for kind, actor, node, task_key, data in events:
        pinned = _pinned_version(ticket) if kind == "submitted" else {}
        specs.append(
            Spec(
                f"ticket.{kind}",
                actor or cause,
                "ticket",
                ticket.sn,
                label,
                {"node": node or "", "task": task_key, **pinned, **data},
                source,
            )
        )
    append(specs)


def _pinned_version(ticket: Any) -> dict:
    version = ticket.version
    return {
        "workflow": version.workflow.key,
        "version": version.number,
        "version_checksum": version.checksum,
    }


# What a directory event names, by the data key that holds it (first match wins).
_DIRECTORY_SUBJECTS = (("username", "user"), ("role", "role"), ("user", "user"))


def record_directory_event(actor: Actor, event: str, data: dict) -> None:
    """`user_created`, `role_member_added`, `admin_permission_granted`, … as
    user.created, role.member_added, user.admin_permission_granted, …"""
    obj_type, obj_id = next(
        ((kind, data[key]) for key, kind in _DIRECTORY_SUBJECTS if key in data),
        (event.split("_")[0], data.get("key", "")),
    )
    verb = event.removeprefix(f"{obj_type}_")
    record(f"{obj_type}.{verb}", actor=actor, obj_type=obj_type, obj_id=obj_id, data=data)


# Fields whose before/after a `<type>.saved` entry shows.
AUDITED_FIELDS: dict[str, tuple[str, ...]] = {
    "catalog_directory": ("name", "name_zh", "parent", "order"),
    "work_calendar": ("timezone", "weekdays", "start", "end", "holidays"),
    "service": (
        "name",
        "name_zh",
        "description",
        "workflow",
        "version",
        "directory",
        "order",
        "visibility",
        "is_active",
        "owners",
        "visible_businesses",
        "visible_roles",
    ),
}


def snapshot(obj_type: str, obj: models.Model) -> dict[str, Any]:
    """The audited fields of `obj` as plain values (related objects by key); {} if unsaved."""
    if obj.pk is None:
        return {}
    values = {}
    for name in AUDITED_FIELDS[obj_type]:
        field = obj._meta.get_field(name)
        value = getattr(obj, name)
        if field.many_to_many:
            values[name] = sorted(_plain(o) for o in value.all())
        else:
            values[name] = _plain(value) if isinstance(value, models.Model) else value
    return values


def record_saved(obj_type: str, obj: models.Model, before: dict[str, Any], *, actor: Actor) -> None:
    """`<type>.saved` with the before/after values of the fields that changed (none: no entry)."""
    after = snapshot(obj_type, obj)
    changed = [name for name in after if before.get(name) != after[name]]
    if not changed:
        return
    record(
        f"{obj_type}.saved",
        actor=actor,
        obj_type=obj_type,
        obj_id=obj.key,
        label=f"{obj_type.replace('_', ' ')} {obj.key}",
        data={
            "created": not before,
            "before": {name: before.get(name) for name in changed},
            "after": {name: after[name] for name in changed},
        },
    )


def _plain(obj: models.Model) -> str:
    if isinstance(obj, AbstractBaseUser):
        return obj.get_username()
    return str(getattr(obj, "key", None) or obj)


def record_token(action: str, token: Any, *, actor: Actor) -> None:
    """token.created / token.revoked: whose token and its public prefix, never its value."""
    owner = token.user.get_username()
    record(
        action,
        actor=actor,
        obj_type="token",
        obj_id=token.pk,
        label=f"token {token.prefix}… of {owner}",
        data={
            "user": owner,
            "name": token.name,
            "prefix": token.prefix,
            "scope": token.scope,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        },
    )
