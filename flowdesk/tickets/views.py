"""Ticket pages: lists per ticket type, the ticket page, and the POSTs acting on a ticket.

Every POST parses its input, calls exactly one `do_*` action with source="web", and either
redirects back to the ticket or shows the action's errors next to the fields.
"""

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from flowdesk.catalog.access import services_visible_to
from flowdesk.directory.models import Business
from flowdesk.engine import EngineError, InvalidValues, TaskNotOpen
from flowdesk.security.files import content_disposition, sniff_content_type
from flowdesk.texts import localized
from flowdesk.tickets import actions, queries
from flowdesk.tickets.access import access_attachment, access_ticket, attachment_ids
from flowdesk.tickets.filtersets import TicketFilterSet
from flowdesk.tickets.forms import StepForm, local_datetime
from flowdesk.tickets.models import Attachment, Task, Ticket
from flowdesk.web.diagram import build_diagram

PAGE_SIZE = 25
# Room for the multipart envelope around one file before a request counts as too large.
UPLOAD_ENVELOPE = 64 * 1024
# Inputs of the task panel outside the step's fields (their errors go next to them).
TASK_INPUTS = ("comment", "reason", "target", "to_user", "override_reason")
MENU_TYPES = {
    "changes": "change",
    "requests": "request",
    "incidents": "incident",
    "problems": "problem",
}
# By creation through the id (ids grow with creation time): the list indexes end with it.
SORTS = {
    "-created": ("-pk",),
    "created": ("pk",),
    "-updated": ("-updated_at", "-pk"),
    "updated": ("updated_at", "-pk"),
    "sn": ("sn", "-pk"),
    "-sn": ("-sn", "-pk"),
    "title": ("title", "-pk"),
    "-title": ("-title", "-pk"),
}


# --- lists ------------------------------------------------------------------------------------


def _filter_data(request: HttpRequest, fixed: dict[str, str]) -> QueryDict:
    """The list's query string as TicketFilterSet input: dates become local day bounds."""
    data = request.GET.copy()
    for param, name, days in (("from", "created_after", 0), ("to", "created_before", 1)):
        day = parse_date(request.GET.get(param, "") or "")
        if day is not None:
            start = timezone.make_aware(
                datetime.combine(day + timedelta(days=days), datetime.min.time())
            )
            data[name] = start.isoformat()
    for key, value in fixed.items():
        data[key] = value
    return data


def ticket_table(request: HttpRequest, fixed: dict[str, str]) -> dict:
    """Context of a filtered, sorted, paginated ticket list (a fixed number of queries)."""
    tickets = Ticket.objects.visible_to(request.user).select_related(
        "service", "version", "business", "requester__profile"
    )
    filterset = TicketFilterSet(_filter_data(request, fixed), queryset=tickets, request=request)
    sort = request.GET.get("sort") if request.GET.get("sort") in SORTS else "-created"
    rows = filterset.qs.order_by(*SORTS[sort]) if filterset.is_valid() else tickets.none()
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("sort", None)
    return {
        "page": page,
        "rows": [(ticket, queries.current_steps(ticket)) for ticket in page],
        "filters": filterset.form,
        "sort": sort,
        "query": query.urlencode(),
        "statuses": Ticket.Status.choices,
        "services": services_visible_to(request.user).order_by("order", "key"),
        "businesses": Business.objects.filter(is_active=True).order_by("key"),
        "now": timezone.now(),
    }


@login_required
def ticket_list(request: HttpRequest, menu: str) -> HttpResponse:
    """Change management / Requests / Incidents / Problems: the tickets of one type."""
    ticket_type = MENU_TYPES[menu]
    context = ticket_table(request, {"type": ticket_type})
    context |= {"ticket_type": ticket_type, "menu": menu}
    if request.htmx:
        return render(request, "tickets/_ticket_table.html", context)
    return render(request, "tickets/ticket_list.html", context)


# --- the ticket page --------------------------------------------------------------------------


def _task_panels(request: HttpRequest, ticket: Ticket, bound: dict[int, StepForm]) -> list[dict]:
    """The open tasks, each with the actions this user may take and its form."""
    defn = ticket.version.definition
    panels = []
    tasks = ticket.tasks.filter(status=Task.Status.OPEN).select_related("assignee__profile")
    for task in tasks.prefetch_related("candidates__user__profile"):
        barred = queries.barred_reason(request.user, task)
        override = queries.override_actions(request.user, task) if barred else []
        allowed = queries.task_actions(request.user, task) + override
        form = None
        if {"complete", "approve"} & set(allowed):
            form = bound.get(task.pk) or StepForm(
                defn, task.node_id, current=ticket.values, results=ticket.state.get("results")
            )
        targets = queries.return_targets(task) if "return" in allowed else []
        panels.append(
            {
                "task": task,
                "node": defn.node(task.node_id),
                "actions": allowed,
                "barred": barred,
                "override": bool(override),
                "form": form,
                "handlers": [candidate.user for candidate in task.candidates.all()],
                "targets": [(target, defn.node(target)) for target in targets],
            }
        )
    return panels


def _files(ticket: Ticket, snapshots: list[queries.Snapshot]) -> dict[str, Attachment]:
    """The attachments the page names, by id, in one query (none without attachment fields).

    Every value of an attachment field was once submitted at a step, so the snapshots and
    the current values name them all (old values in the history too)."""
    defn = ticket.version.definition
    if not any(field["type"] == "attachment" for field in defn.fields.values()):
        return {}
    ids = attachment_ids(defn, ticket.values).union(
        *(attachment_ids(defn, snap.values) for snap in snapshots)
    )
    return {str(a.pk): a for a in Attachment.objects.filter(pk__in=ids)}


def _record_context(ticket: Ticket) -> dict:
    """What the ticket page and its print view both show, from one read of the history."""
    defn = ticket.version.definition
    events = list(queries.history(ticket).select_related("actor__profile"))
    snapshots = queries.snapshots(ticket, events)
    return {
        "ticket": ticket,
        "defn": defn,
        "snapshots": snapshots,
        "files": _files(ticket, snapshots),
        "events": events,
        "end_reason": queries.end_reason(ticket, events),
        "diagram": build_diagram(defn, ticket.state, ticket.status),
    }


def _ticket_context(request: HttpRequest, ticket: Ticket, bound: dict[int, StepForm]) -> dict:
    return _record_context(ticket) | {
        "ticket_type": ticket.version.definition.type,
        "panels": _task_panels(request, ticket, bound),
        "ticket_actions": queries.ticket_actions(request.user, ticket),
        "steps": queries.current_steps(ticket),
    }


def _render_ticket(
    request: HttpRequest,
    ticket: Ticket,
    *,
    bound: dict[int, StepForm] | None = None,
    errors: dict[str, list[str]] | None = None,
    error_task: int | None = None,
    status: int = 200,
) -> HttpResponse:
    """The ticket page; after a refused POST, with its errors and the values typed kept."""
    context = _ticket_context(request, ticket, bound or {})
    context |= {"errors": errors or {}, "error_task": error_task, "posted": request.POST}
    return render(request, "tickets/ticket_detail.html", context, status=status)


@login_required
def ticket_detail(request: HttpRequest, sn: str) -> HttpResponse:
    return _render_ticket(request, access_ticket(request.user, sn))


@login_required
def ticket_print(request: HttpRequest, sn: str) -> HttpResponse:
    context = _record_context(access_ticket(request.user, sn)) | {"printed_at": timezone.now()}
    return render(request, "tickets/ticket_print.html", context)


@login_required
def task_form(request: HttpRequest, sn: str, pk: int) -> HttpResponse:
    """htmx: the task's fields again, with conditions evaluated on the values typed so far."""
    ticket = access_ticket(request.user, sn)
    task = get_object_or_404(Task, pk=pk, ticket=ticket)
    form = StepForm(
        ticket.version.definition,
        task.node_id,
        current=ticket.values,
        results=ticket.state.get("results"),
        data=request.POST or None,
    )
    return render(request, "tickets/_step_fields.html", {"form": form})


# --- acting -----------------------------------------------------------------------------------


def conflict_message(error: TaskNotOpen) -> str:
    """'Already handled by X at T', with T in the reader's time zone."""
    moment = local_datetime(error.at) if error.at else None
    when = formats.date_format(moment, "DATETIME_FORMAT") if moment else ""
    if error.by and when:
        return _("This step was already handled by %(by)s at %(at)s.") % {
            "by": error.by,
            "at": when,
        }
    return _("This step is no longer open.")


def _engine_message(error: EngineError) -> str:
    return conflict_message(error) if isinstance(error, TaskNotOpen) else _(error.message)


@login_required
@require_POST
def task_action(request: HttpRequest, sn: str, pk: int, action: str) -> HttpResponse:
    ticket = access_ticket(request.user, sn)
    task = get_object_or_404(Task, pk=pk, ticket=ticket)
    post, actor = request.POST, request.user
    comment, override_reason = post.get("comment", ""), post.get("override_reason")
    form = StepForm(ticket.version.definition, task.node_id, current=ticket.values, data=post)
    form.is_valid()  # collects raw values; the action judges them

    def decide(do_action: Callable[..., object]) -> Callable[[], object]:
        def act() -> object:
            if form.errors:  # a value the form itself refused (a NUL) is shown, never dropped
                raise InvalidValues({})
            return do_action(
                task,
                actor=actor,
                values=form.values(),
                comment=comment,
                source="web",
                override_reason=override_reason,
            )

        return act

    calls: dict[str, Callable[[], object]] = {
        "complete": decide(actions.do_complete_task),
        "approve": decide(actions.do_approve_task),
        "reject": decide(actions.do_reject_task),
        "return": lambda: actions.do_return_task(
            task,
            actor=actor,
            target=post.get("target", ""),
            reason=post.get("reason", ""),
            source="web",
        ),
        "transfer": lambda: actions.do_transfer_task(
            task,
            actor=actor,
            to_user=_user_named(post.get("to_user", "")),
            comment=comment,
            source="web",
        ),
        "claim": lambda: actions.do_claim_task(task, actor=actor, source="web"),
    }
    if action not in calls:
        return HttpResponse(status=404)
    try:
        calls[action]()
    except InvalidValues as error:
        form.add_engine_errors(
            {key: msgs for key, msgs in error.errors.items() if key not in TASK_INPUTS}
        )
        errors = {
            key: [_(m) for m in msgs] for key, msgs in error.errors.items() if key in TASK_INPUTS
        }
        messages.error(request, _("Nothing was saved: please correct the marked fields."))
        return _render_ticket(
            request, ticket, bound={task.pk: form}, errors=errors, error_task=task.pk, status=422
        )
    except EngineError as error:
        messages.error(request, _engine_message(error))
        return redirect("tickets:ticket_detail", sn=ticket.sn)
    messages.success(request, _("Done: %(step)s.") % {"step": _step_done(ticket, task, action)})
    return redirect("tickets:ticket_detail", sn=ticket.sn)


def _step_done(ticket: Ticket, task: Task, action: str) -> str:
    verbs = {
        "complete": _("completed"),
        "approve": _("approved"),
        "reject": _("rejected"),
        "return": _("returned"),
        "transfer": _("transferred"),
        "claim": _("claimed"),
    }
    name = localized(ticket.version.definition.node(task.node_id).name, task.node_id)
    return f"{name} – {verbs[action]}"


def _user_named(username: str) -> object:
    """The transfer target; an unknown name is a field error like the action's own."""
    user = get_user_model().objects.filter(username=username.strip()).first()
    if user is None:
        message = _("There is no user named '%(name)s'.") % {"name": username.strip()}
        raise InvalidValues({"to_user": [message]})
    return user


@login_required
@require_POST
def ticket_action(request: HttpRequest, sn: str, action: str) -> HttpResponse:
    ticket = access_ticket(request.user, sn)
    actor, text = request.user, request.POST.get("comment", "")
    calls: dict[str, Callable[[], object]] = {
        "comment": lambda: actions.do_comment_ticket(ticket, actor=actor, text=text, source="web"),
        "follow": lambda: actions.do_follow_ticket(ticket, actor=actor),
        "unfollow": lambda: actions.do_unfollow_ticket(ticket, actor=actor),
        "urge": lambda: actions.do_urge_ticket(ticket, actor=actor, comment=text, source="web"),
        "withdraw": lambda: actions.do_withdraw_ticket(
            ticket, actor=actor, reason=text, source="web"
        ),
        "suspend": lambda: actions.do_suspend_ticket(
            ticket, actor=actor, reason=text, source="web"
        ),
        "resume": lambda: actions.do_resume_ticket(ticket, actor=actor, comment=text, source="web"),
        "terminate": lambda: actions.do_terminate_ticket(
            ticket, actor=actor, reason=text, source="web"
        ),
    }
    if action not in calls:
        return HttpResponse(status=404)
    try:
        calls[action]()
    except InvalidValues as error:
        errors = {action: [_(m) for msgs in error.errors.values() for m in msgs]}
        return _render_ticket(request, ticket, errors=errors, status=422)
    except EngineError as error:
        messages.error(request, _engine_message(error))
    return redirect("tickets:ticket_detail", sn=ticket.sn)


# --- attachments ------------------------------------------------------------------------------


def upload_too_large(request: HttpRequest) -> str | None:
    """Why a request is refused before its body is read (413), or None: the file in it is
    surely over FLOWDESK_MAX_UPLOAD_BYTES. The action still checks the file itself."""
    limit = settings.FLOWDESK_MAX_UPLOAD_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length <= limit + UPLOAD_ENVELOPE:
        return None
    return _("The file is larger than %(limit)s MB.") % {"limit": limit // 2**20}


def attachment_response(attachment: Attachment) -> FileResponse:
    """The file as a download, with headers that keep a browser from running it: the type
    comes from the content (images, PDF, UTF-8 text, else bytes), not from the uploader."""
    stream = attachment.file.open("rb")
    response = FileResponse(stream, content_type=sniff_content_type(stream))
    response["Content-Disposition"] = content_disposition(attachment.name)
    response["X-Content-Type-Options"] = "nosniff"
    # Should a browser still render it, nothing in it runs (set here, so the site's CSP
    # middleware leaves it).
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private"
    return response


@login_required
@require_POST
def attachment_upload(request: HttpRequest) -> HttpResponse:
    """fields.js: store one chosen file at once; answer its chip, which holds its id in a
    hidden input named after the field (`field`), or a sentence saying why not."""
    if problem := upload_too_large(request):
        return _plain(problem, 413)
    upload = request.FILES.get("file")
    if upload is None:
        return _plain(_("Choose a file."), 400)
    try:
        attachment = actions.do_upload_attachment(upload, actor=request.user)
    except InvalidValues as error:
        return _plain(" ".join(_(m) for msgs in error.errors.values() for m in msgs), 400)
    context = {"file": attachment, "name": request.POST.get("field", "")}
    response = render(request, "tickets/_attachment_chip.html", context, status=201)
    response["Flowdesk-Attachment-Id"] = str(attachment.pk)
    return response


@login_required
def attachment_download(request: HttpRequest, pk: uuid.UUID) -> FileResponse:
    """The file, for its uploader and whoever may see a ticket naming it; 404 for others."""
    return attachment_response(access_attachment(request.user, pk))


def _plain(text: str, status: int) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
