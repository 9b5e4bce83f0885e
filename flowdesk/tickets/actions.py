"""The service layer of tickets: every change of a ticket's state is one `do_*` function here.

Each action runs in one durable transaction, takes a row lock on the ticket, checks permission,
asks the pure engine what happens, writes the new state, tasks and candidates, and appends the
events of its history. Web pages, the REST API, the CLI and timers all call these functions.
"""

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from flowdesk import engine
from flowdesk.catalog.access import can_see_service
from flowdesk.catalog.models import Service
from flowdesk.directory.access import is_flowdesk_admin
from flowdesk.directory.locks import hold_directory_shared
from flowdesk.directory.models import Business
from flowdesk.directory.resolver import DjangoDirectory
from flowdesk.engine import InvalidValues, NotAllowed, TaskNotOpen
from flowdesk.security.files import unsafe_file_name
from flowdesk.texts import localized
from flowdesk.tickets.access import as_uuid, attachment_ids, is_candidate, is_manager
from flowdesk.tickets.candidates import set_candidates
from flowdesk.tickets.models import (
    SERIAL_PREFIXES,
    Attachment,
    Follow,
    SerialCounter,
    Task,
    TaskCandidate,
    Ticket,
)
from flowdesk.tickets.persistence import (
    append_events,
    engine_context,
    iso,
    lock_ticket,
    owner_names,
    record_result,
    touch,
)

URGE_INTERVAL = timedelta(minutes=30)
MAX_COMMENT = 10_000
User = AbstractBaseUser


# --- submitting -------------------------------------------------------------------------------


def do_submit_ticket(
    service: Service,
    *,
    actor: User,
    title: str,
    values: dict,
    business: Business | None = None,
    source: str = "web",
    on_created: Callable[[Ticket], None] | None = None,
) -> Ticket:
    """Create a ticket on the service's current version, its start node done by `actor`.

    `on_created` runs inside the transaction, for callers whose own records must commit or
    roll back with the ticket (the API's idempotency keys).
    """
    if not service.is_active or not can_see_service(actor, service):
        raise NotAllowed(f"You may not request the service '{service.name}'.")
    version = service.current_version()
    if version is None:
        raise NotAllowed(f"The service '{service.name}' has no deployed workflow yet.")
    defn = version.definition
    now = timezone.now()
    context = engine.Context(
        now=iso(now),
        requester=actor.get_username(),
        business=business.key if business else None,
        directory=DjangoDirectory(),
        service_owners=owner_names(service),
    )
    if errors := _ticket_header_errors(defn, title, business):
        # Report the fields' problems in the same answer, so a form shows them all at once.
        raise InvalidValues({**_start_value_errors(defn, context, actor, values), **errors})
    _check_attachments(defn, defn.start, values, actor)
    sn = _next_serial(SERIAL_PREFIXES[defn.type], now)
    with transaction.atomic(durable=True):
        hold_directory_shared()  # the engine reads memberships for the steps it opens
        result = engine.start(defn, context, actor=actor.get_username(), values=values)
        ticket = Ticket.objects.create(
            sn=sn,
            title=title.strip(),
            service=service,
            version=version,
            business=business,
            requester=actor,
            status=result.state["status"],
            state=result.state,
        )
        record_result(ticket, result, actor=actor, kind="submitted", node=defn.start, source=source)
        if on_created is not None:
            on_created(ticket)
    return ticket


def _start_value_errors(
    defn: engine.Definition, context: engine.Context, actor: User, values: dict
) -> dict[str, list[str]]:
    """The field errors a submit of `values` would meet (the engine is pure: nothing is kept)."""
    try:
        engine.start(defn, context, actor=actor.get_username(), values=values)
    except InvalidValues as exc:
        return exc.errors
    except engine.EngineError:
        pass  # not a field problem; the header errors are reported instead
    return {}


def _ticket_header_errors(defn: engine.Definition, title: str, business: Business | None) -> dict:
    errors: dict[str, list[str]] = {}
    if not title or not title.strip():
        errors["title"] = ["Enter a title."]
    elif len(title.strip()) > 200:
        errors["title"] = ["Enter at most 200 characters."]
    if defn.scope == "business" and business is None:
        errors["business"] = ["Choose the business this request is for."]
    elif defn.scope == "business" and not business.is_active:
        errors["business"] = [f"The business '{business.key}' is no longer active."]
    elif defn.scope == "global" and business is not None:
        errors["business"] = ["This service is not tied to a business; leave it empty."]
    return errors


def _next_serial(prefix: str, now: datetime) -> str:
    """CRQ20261127000001: prefix, local date, per-day sequence. One statement creates or bumps
    the day's counter and reads it back, in a transaction of its own: concurrent submits never
    share a number, and the counter row is locked for that statement, not for a whole submit
    (every submit of the day waited on it). A submit that then fails leaves a gap."""
    day = timezone.localdate(now)
    table = connection.ops.quote_name(SerialCounter._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (prefix, day, value) VALUES (%s, %s, 1) "
            f"ON CONFLICT (prefix, day) DO UPDATE SET value = {table}.value + 1 RETURNING value",
            [prefix, day],
        )
        (value,) = cursor.fetchone()
    return f"{prefix}{day:%Y%m%d}{value:06d}"


def _check_attachments(
    defn: engine.Definition, node_id: str, values: dict, actor: User, ticket: Ticket | None = None
) -> None:
    """Attachment fields may name files the actor uploaded, or files the ticket already holds
    (a later step keeps an earlier step's files); the engine checks the shapes."""
    held = attachment_ids(defn, ticket.values) if ticket else set()
    errors = {}
    for key in defn.node(node_id).fields:
        value = values.get(key)
        if defn.fields[key]["type"] != "attachment" or not isinstance(value, list):
            continue
        ids = {str(item): as_uuid(item) for item in value}
        new = {pk for pk in ids.values() if pk is not None} - held
        mine = set(
            Attachment.objects.filter(pk__in=new, uploaded_by=actor).values_list("pk", flat=True)
        )
        if unknown := [item for item, pk in ids.items() if pk is None or pk in new - mine]:
            errors[key] = [f"Unknown attachment '{unknown[0]}'."]
    if errors:
        raise InvalidValues(errors)


def do_upload_attachment(upload: File, *, actor: User) -> Attachment:
    """Store an uploaded file; its id can then be a value of an `attachment` field."""
    if not upload.name:
        raise InvalidValues({"file": ["The file has no name."]})
    if reason := unsafe_file_name(upload.name):
        raise InvalidValues({"file": [reason]})
    if upload.size > settings.FLOWDESK_MAX_UPLOAD_BYTES:
        limit = settings.FLOWDESK_MAX_UPLOAD_BYTES // 2**20
        raise InvalidValues({"file": [f"The file is larger than {limit} MB."]})
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    with transaction.atomic(durable=True):
        return Attachment.objects.create(
            file=upload,
            name=Path(upload.name).name[:255],
            size=upload.size,
            sha256=digest.hexdigest(),
            content_type=getattr(upload, "content_type", "") or "",
            uploaded_by=actor,
        )


# --- acting on tasks --------------------------------------------------------------------------

# (definition, state, context, override separation of duties) -> result
Step = Callable[[engine.Definition, dict, engine.Context, bool], engine.Result]


def do_complete_task(
    task: Task,
    *,
    actor: User,
    values: dict,
    comment: str = "",
    source: str = "web",
    override_reason: str | None = None,
) -> Ticket:
    """Fill in a task's fields and complete it (also the start step, resubmitted after a return).

    `override_reason` (here and on approve/reject): a Flowdesk admin acts despite separation of
    duties; the reason is required and recorded."""
    name = actor.get_username()
    return _act_on_task(
        task,
        actor,
        "completed",
        lambda d, s, c, o: engine.complete(
            d, s, c, task=task.key, actor=name, values=values, override=o
        ),
        values=values,
        comment=comment,
        source=source,
        override_reason=override_reason,
    )


def do_approve_task(
    task: Task,
    *,
    actor: User,
    values: dict | None = None,
    comment: str = "",
    source: str = "web",
    override_reason: str | None = None,
) -> Ticket:
    name = actor.get_username()
    return _act_on_task(
        task,
        actor,
        "approved",
        lambda d, s, c, o: engine.approve(
            d, s, c, task=task.key, actor=name, values=values, override=o
        ),
        values=values,
        comment=comment,
        source=source,
        override_reason=override_reason,
    )


def do_reject_task(
    task: Task,
    *,
    actor: User,
    values: dict | None = None,
    comment: str = "",
    source: str = "web",
    override_reason: str | None = None,
) -> Ticket:
    name = actor.get_username()
    return _act_on_task(
        task,
        actor,
        "rejected",
        lambda d, s, c, o: engine.reject(
            d, s, c, task=task.key, actor=name, values=values, override=o
        ),
        values=values,
        comment=comment,
        source=source,
        override_reason=override_reason,
    )


def do_return_task(
    task: Task, *, actor: User, target: str, reason: str, source: str = "web"
) -> Ticket:
    """Send the ticket back to an earlier visited step; later values stay as its defaults."""
    _require_text(reason, "reason", "Say why the ticket goes back.")
    name = actor.get_username()
    return _act_on_task(
        task,
        actor,
        "returned",
        lambda d, s, c, o: engine.return_to(d, s, c, task=task.key, actor=name, target=target),
        comment=reason,
        source=source,
        extra={"to": target},
    )


def do_transfer_task(
    task: Task, *, actor: User, to_user: User, comment: str = "", source: str = "web"
) -> Ticket:
    """Hand a task to another person; a handler, the service owner or an admin may."""
    with transaction.atomic(durable=True):
        ticket, task = _lock_task(task)
        _check_open(ticket, task)
        if not (is_candidate(task, actor) or is_manager(ticket, actor)):
            raise NotAllowed(
                "Only a handler of this step, a service owner or an admin may transfer it."
            )
        if not to_user.is_active:
            raise InvalidValues({"to_user": [f"'{to_user.get_username()}' is not an active user."]})
        if set(task.candidates.values_list("user", flat=True)) == {to_user.pk}:
            raise InvalidValues(
                {"to_user": [f"The task is already with '{to_user.get_username()}'."]}
            )
        task.assignee = to_user
        task.save(update_fields=["assignee"])
        set_candidates(task, [to_user.get_username()])
        append_events(
            ticket,
            [
                (
                    "transferred",
                    actor,
                    task.node_id,
                    task.key,
                    {
                        "to": to_user.get_username(),
                        "comment": comment,
                        "source": source,
                    },
                )
            ],
        )
        touch(ticket)
    return ticket


def do_claim_task(task: Task, *, actor: User, source: str = "web") -> Ticket:
    """Take a "claim first" task from the role's pool; only the claimer can then act on it."""
    with transaction.atomic(durable=True):
        ticket, task = _lock_task(task)
        _check_open(ticket, task)
        if not task.claim:
            raise NotAllowed("This step does not need to be claimed; act on it directly.")
        if task.assignee_id is not None:
            raise NotAllowed(f"This task was already claimed by {task.assignee.get_username()}.")
        if not is_candidate(task, actor):
            raise NotAllowed("You are not a handler of this step.")
        task.assignee = actor
        task.save(update_fields=["assignee"])
        set_candidates(task, [actor.get_username()])
        append_events(ticket, [("claimed", actor, task.node_id, task.key, {"source": source})])
        touch(ticket)
    return ticket


def _act_on_task(
    task: Task,
    actor: User,
    kind: str,
    step: Step,
    *,
    values: dict | None = None,
    comment: str = "",
    source: str,
    extra: dict | None = None,
    override_reason: str | None = None,
) -> Ticket:
    for key, text in (("comment", comment), ("override_reason", override_reason or "")):
        if len(text) > MAX_COMMENT:
            raise InvalidValues({key: [f"Enter at most {MAX_COMMENT} characters."]})
    with transaction.atomic(durable=True):
        ticket, task = _lock_task(task)
        _check_open(ticket, task)
        if not is_candidate(task, actor):
            raise NotAllowed(f"You are not a handler of step '{_node_name(ticket, task.node_id)}'.")
        if task.needs_claim:
            raise NotAllowed("Claim this task before acting on it.")
        defn = ticket.version.definition
        if values:
            _check_attachments(defn, task.node_id, values, actor, ticket)
        ctx = engine_context(ticket)
        override = _separation_override(ticket, task, actor, ctx, override_reason)
        if override is not None:
            extra = {**(extra or {}), "override": override}
        result = step(defn, ticket.state, ctx, override is not None)
        record_result(
            ticket,
            result,
            actor=actor,
            kind=kind,
            node=task.node_id,
            task=task,
            comment=comment,
            source=source,
            extra=extra,
        )
    return ticket


def _separation_override(
    ticket: Ticket, task: Task, actor: User, ctx: engine.Context, reason: str | None
) -> dict | None:
    """What to record when an admin overrides separation of duties; None when no override is
    asked for or none is needed (the actor is not barred)."""
    if reason is None:
        return None
    if not is_flowdesk_admin(actor):
        raise NotAllowed("Only a Flowdesk admin may override separation of duties.")
    _require_text(reason, "override_reason", "Say why separation of duties is overridden.")
    name = actor.get_username()
    defn = ticket.version.definition
    rule = engine.barred(defn, ticket.state, task.key, name, requester=ctx.requester)
    if rule is None:
        return None
    return {"by": name, "reason": reason.strip(), "rule": rule}


def _lock_task(task: Task) -> tuple[Ticket, Task]:
    """Lock the ticket, then read the task again: a concurrent action may have closed it.
    (Its handler and assignee are read only for the refusals that name them.)"""
    ticket = lock_ticket(task.ticket_id)
    return ticket, Task.objects.get(pk=task.pk)


def _check_open(ticket: Ticket, task: Task) -> None:
    if task.status == Task.Status.CLOSED:
        raise TaskNotOpen(
            task.key,
            by=task.handled_by.get_username() if task.handled_by else None,
            at=iso(task.closed_at) if task.closed_at else None,
            outcome=task.outcome,
        )
    if ticket.status != Ticket.Status.RUNNING:
        raise engine.NotRunning(ticket.status)
    # An automation step has its own actions (retry, skip or complete by hand, with a reason);
    # a timer step's operators may end the wait early with the generic complete.
    if ticket.version.definition.node(task.node_id).type == "automation":
        raise NotAllowed(
            f"Step '{_node_name(ticket, task.node_id)}' is carried out by Flowdesk itself; "
            "use its own actions (retry, skip, complete by hand) instead."
        )


# --- acting on the ticket ---------------------------------------------------------------------


def do_suspend_ticket(ticket: Ticket, *, actor: User, reason: str, source: str = "web") -> Ticket:
    """Pause a running ticket; nobody can act on its tasks until it is resumed."""
    _require_text(reason, "reason", "Say why the ticket is suspended.")
    return _act_on_ticket(
        ticket,
        actor,
        "suspended",
        _manager_only("suspend"),
        lambda d, s, c: engine.suspend(d, s, c, actor=actor.get_username()),
        comment=reason,
        source=source,
    )


def do_resume_ticket(
    ticket: Ticket, *, actor: User, comment: str = "", source: str = "web"
) -> Ticket:
    return _act_on_ticket(
        ticket,
        actor,
        "resumed",
        _manager_only("resume"),
        lambda d, s, c: engine.resume(d, s, c, actor=actor.get_username()),
        comment=comment,
        source=source,
    )


def do_withdraw_ticket(
    ticket: Ticket, *, actor: User, reason: str = "", source: str = "web"
) -> Ticket:
    """The requester takes the request back, as the workflow's withdraw rule allows."""
    return _act_on_ticket(
        ticket,
        actor,
        "withdrawn",
        None,
        lambda d, s, c: engine.withdraw(d, s, c, actor=actor.get_username()),
        comment=reason,
        source=source,
    )


def do_terminate_ticket(ticket: Ticket, *, actor: User, reason: str, source: str = "web") -> Ticket:
    """End a ticket for good; an admin or the service's owner may, with a reason."""
    _require_text(reason, "reason", "Say why the ticket is terminated.")
    return _act_on_ticket(
        ticket,
        actor,
        "terminated",
        _manager_only("terminate"),
        lambda d, s, c: engine.terminate(d, s, c, actor=actor.get_username()),
        comment=reason,
        source=source,
    )


def _manager_only(verb: str) -> Callable[[Ticket, User], None]:
    def check(ticket: Ticket, actor: User) -> None:
        if not is_manager(ticket, actor):
            raise NotAllowed(f"Only an admin or an owner of the service may {verb} this ticket.")

    return check


def _act_on_ticket(
    ticket: Ticket,
    actor: User,
    kind: str,
    check: Callable[[Ticket, User], None] | None,
    step: Step,
    *,
    comment: str,
    source: str,
) -> Ticket:
    with transaction.atomic(durable=True):
        ticket = lock_ticket(ticket.pk)
        if check is not None:
            check(ticket, actor)
        result = step(ticket.version.definition, ticket.state, engine_context(ticket))
        record_result(ticket, result, actor=actor, kind=kind, comment=comment, source=source)
    return ticket


def do_urge_ticket(
    ticket: Ticket, *, actor: User, comment: str = "", source: str = "web"
) -> Ticket:
    """Remind the current handlers; the requester or a follower may, once per interval."""
    with transaction.atomic(durable=True):
        ticket = lock_ticket(ticket.pk)
        if ticket.status != Ticket.Status.RUNNING:
            raise engine.NotRunning(ticket.status)
        if not (actor.pk == ticket.requester_id or ticket.follows.filter(user=actor).exists()):
            raise NotAllowed("Only the requester or a follower may urge this ticket.")
        last = ticket.events.filter(kind="urged", actor=actor).aggregate(at=Max("at"))["at"]
        if last is not None and timezone.now() - last < URGE_INTERVAL:
            raise NotAllowed(
                f"You urged this ticket at {iso(last)}; you can urge again after "
                f"{iso(last + URGE_INTERVAL)}."
            )
        handlers = sorted(
            TaskCandidate.objects.filter(task__ticket=ticket)
            .values_list("user__username", flat=True)
            .distinct()
        )
        append_events(
            ticket,
            [
                (
                    "urged",
                    actor,
                    "",
                    None,
                    {
                        "handlers": handlers,
                        "comment": comment,
                        "source": source,
                    },
                )
            ],
        )
        touch(ticket)
    return ticket


def do_comment_ticket(ticket: Ticket, *, actor: User, text: str, source: str = "web") -> Ticket:
    """Add a comment to the history; anyone who can see the ticket may."""
    _require_text(text, "text", "Write a comment.")
    if len(text) > MAX_COMMENT:
        raise InvalidValues({"text": [f"Enter at most {MAX_COMMENT} characters."]})
    with transaction.atomic(durable=True):
        ticket = lock_ticket(ticket.pk)
        append_events(ticket, [("commented", actor, "", None, {"text": text, "source": source})])
        touch(ticket)
    return ticket


def do_follow_ticket(ticket: Ticket, *, actor: User) -> bool:
    """Follow a ticket to be told of its progress; returns False when already following."""
    with transaction.atomic(durable=True):
        ticket = lock_ticket(ticket.pk)
        _, created = Follow.objects.get_or_create(ticket=ticket, user=actor)
        if created:
            append_events(ticket, [("followed", actor, "", None, {})])
    return created


def do_unfollow_ticket(ticket: Ticket, *, actor: User) -> bool:
    with transaction.atomic(durable=True):
        ticket = lock_ticket(ticket.pk)
        deleted, _ = Follow.objects.filter(ticket=ticket, user=actor).delete()
        if deleted:
            append_events(ticket, [("unfollowed", actor, "", None, {})])
    return bool(deleted)


def _node_name(ticket: Ticket, node_id: str) -> str:
    return localized(ticket.version.definition.node(node_id).name, node_id)


def _require_text(text: str, field: str, message: str) -> None:
    if not text or not text.strip():
        raise InvalidValues({field: [message]})
