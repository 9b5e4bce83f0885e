"""The workflow designer: the list of workflows, the canvas editor and its JSON endpoints, the
version history.

The canvas edits the draft document in the browser; each endpoint parses what it sends and
calls one action (do_save_draft, do_deploy_workflow) or only reads (validate, YAML, diff).
Problems travel as `{path, message}` so the canvas can put them on the node or line at fault.
"""

import difflib
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from flowdesk.directory.access import can_design_workflows, can_manage_services
from flowdesk.directory.models import Role
from flowdesk.directory.resolver import DjangoRoleCatalog
from flowdesk.engine import (
    FIELD_TYPES,
    HTTP_METHODS,
    HUMAN_NODE_TYPES,
    NOTIFY_CHANNELS,
    NOTIFY_EVENTS,
    NOTIFY_TICKET_EVENTS,
    OPERATORS_BY_TYPE,
    SYSTEM_NODE_TYPES,
    Notify,
)
from flowdesk.engine.document import DocumentError, dump_document, load_document
from flowdesk.engine.validation import Problem, validate_document
from flowdesk.notify.models import EVENTS
from flowdesk.sla.models import WorkCalendar
from flowdesk.workflows.actions import WorkflowInvalid, do_deploy_workflow, do_save_draft
from flowdesk.workflows.forms import WorkflowForm
from flowdesk.workflows.models import Workflow, WorkflowType, WorkflowVersion

User = get_user_model()
View = Callable[..., HttpResponse]
MAX_USERS_OFFERED = 500  # usernames offered as suggestions in the operator editor


def designers_only(view: View) -> View:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_design_workflows(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _problems(problems: list[Problem], status: int = 200, **extra: Any) -> JsonResponse:
    rows = [{"path": p.path, "message": p.message} for p in problems]
    return JsonResponse({"problems": rows, **extra}, status=status)


def _body(request: HttpRequest) -> dict:
    """The JSON object the canvas posted; an unreadable body reads as an empty object."""
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _same_key(workflow: Workflow, document: object) -> list[Problem]:
    """The designer edits one workflow: a document under another key would save elsewhere."""
    if isinstance(document, dict) and document.get("key") == workflow.key:
        return []
    return [Problem("key", _("must stay %(key)s in this workflow") % {"key": workflow.key})]


@designers_only
def workflow_list(request: HttpRequest) -> HttpResponse:
    versions = WorkflowVersion.objects.select_related("deployed_by").order_by("-number")
    workflows = Workflow.objects.prefetch_related(Prefetch("versions", versions))
    return render(request, "workflows/workflow_list.html", {"workflows": workflows})


@designers_only
def workflow_add(request: HttpRequest) -> HttpResponse:
    form = WorkflowForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            workflow, _problems = do_save_draft(form.document(), actor=request.user)
        except WorkflowInvalid as invalid:
            for problem in invalid.problems:
                field = problem.path.split(".")[0]
                form.add_error(field if field in form.fields else None, problem.message)
        else:
            return redirect("workflows:workflow_edit", key=workflow.key)
    return render(request, "workflows/workflow_add.html", {"form": form})


def _palette() -> list[tuple[str, str, str]]:
    """(node type, label, Bootstrap icon) of the palette."""
    return [
        ("start", _("Start"), "bi-play-circle"),
        ("task", _("Task"), "bi-pencil-square"),
        ("approval", _("Approval"), "bi-check2-square"),
        ("exclusive", _("Exclusive gateway"), "bi-signpost-split"),
        ("parallel_split", _("Parallel split"), "bi-diagram-2"),
        ("parallel_join", _("Parallel join"), "bi-diagram-2-fill"),
        ("timer", _("Timer"), "bi-hourglass-split"),
        ("automation", _("Automation"), "bi-gear-wide-connected"),
        ("end", _("End"), "bi-stop-circle"),
    ]


def _designer_text() -> dict:
    """The sentences the canvas script shows, in the reader's language."""
    return {
        "types": {node_type: label for node_type, label, _icon in _palette()},
        "icons": {node_type: icon for node_type, _label, icon in _palette()},
        # Document texts of new nodes, in both languages the document holds.
        "defaultNames": {
            "start": {"en": "Submit", "zh": "提单"},
            "task": {"en": "Task", "zh": "任务"},
            "approval": {"en": "Approval", "zh": "审批"},
            "timer": {"en": "Wait", "zh": "等待"},
            "automation": {"en": "Automation", "zh": "自动化"},
            "end": {"en": "Done", "zh": "结束"},
        },
        "ops": {"empty": _("is empty"), "not_empty": _("is not empty")},
        "outcomes": {"approved": _("approved"), "rejected": _("rejected")},
        "and": _("and"),
        "or": _("or"),
        "not": _("not"),
        "result": _("result"),
        "resultOf": _("Result of %s"),
        "default": _("default"),
        "newField": _("New field"),
        "until": _("until %s"),
        "after": _("after %s"),
        "due": _("due in %s"),
        "checksumCheck": _("checksum check"),
        "jsonSyntax": _("Not valid JSON: %s"),
        "jsonObject": _('Write one JSON object: {"headers": {…}, "body": …}.'),
        "jsonKey": _("“%s” is none of headers, body, callback, poll, outputs."),
        "saved": _("Draft saved. No problems: it can be deployed."),
        "savedWithProblems": _("Draft saved. Fix %s problems before deploying."),
        "notSaved": _("The draft was not saved: see the problems."),
        "valid": _("No problems: the draft can be deployed."),
        "problemsFound": _("%s problems found; they are marked on the canvas."),
        "deployed": _("Deployed as version %s."),
        "unchanged": _("The draft is the same as version %s: nothing new to deploy."),
        "notDeployed": _("Not deployed: %s problems to fix first."),
        "yamlApplied": _("The YAML was applied and saved as the draft."),
        "badNodeId": _("“%s” cannot be a node id: use lowercase letters, digits, _; unique."),
        "badFieldKey": _("“%s” cannot be a field key: use lowercase letters, digits, _; unique."),
        "offline": _("The server could not be reached."),
    }


def _notify_choices() -> dict:
    """What a notification strategy chooses from, labelled, and what it is when unsaid."""
    channels = {"email": _("E-mail"), "chat": _("Chat")}
    events = dict(EVENTS)
    unsaid = Notify()
    return {
        "channels": [{"value": c, "label": channels[c]} for c in NOTIFY_CHANNELS],
        # Ticket-wide events are chosen in the workflow's settings only.
        "events": [
            {"value": e, "label": str(events.get(e, e)), "ticket": e in NOTIFY_TICKET_EVENTS}
            for e in NOTIFY_EVENTS
        ],
        "defaults": {"channels": list(unsaid.channels), "events": list(unsaid.events)},
    }


def _editor_config(workflow: Workflow, latest: WorkflowVersion | None, language: str) -> dict:
    roles = Role.objects.order_by("key").values("key", "kind", "name", "name_zh")
    urls = {
        name: reverse(f"workflows:workflow_{name}", args=[workflow.key])
        for name in ("save", "validate", "deploy", "yaml", "yaml_apply", "history")
    }
    return {
        "document": workflow.draft,
        "layout": workflow.layout,
        "problems": [
            {"path": p.path, "message": p.message}
            for p in validate_document(workflow.draft, directory=DjangoRoleCatalog())
        ],
        "roles": list(roles),
        "users": list(
            User.objects.filter(is_active=True)
            .order_by("username")
            .values_list("username", flat=True)[:MAX_USERS_OFFERED]
        ),
        "fieldTypes": sorted(FIELD_TYPES),
        "operatorsByType": {kind: sorted(ops) for kind, ops in OPERATORS_BY_TYPE.items()},
        "nodeKinds": {"human": sorted(HUMAN_NODE_TYPES), "system": sorted(SYSTEM_NODE_TYPES)},
        "notify": _notify_choices(),
        "httpMethods": list(HTTP_METHODS),
        "calendars": list(WorkCalendar.objects.values_list("name", flat=True)),
        "urls": urls,
        "version": latest.number if latest else None,
        "text": _designer_text(),
        "zh": language.startswith("zh"),
    }


@designers_only
def workflow_edit(request: HttpRequest, key: str) -> HttpResponse:
    workflow = get_object_or_404(Workflow, key=key)
    latest = workflow.latest_version()
    context = {
        "workflow": workflow,
        "palette": _palette(),
        "workflow_types": WorkflowType.choices,
        "config": _editor_config(workflow, latest, get_language() or ""),
        "latest": latest,
        "can_bind": can_manage_services(request.user),
    }
    return render(request, "workflows/workflow_edit.html", context)


def _clean_layout(layout: object) -> dict[str, list[float]] | None:
    """{node id: [x, y]} with numbers only; None (keep the stored one) for anything else."""
    if not isinstance(layout, dict):
        return None
    return {
        str(node): [float(xy[0]), float(xy[1])]
        for node, xy in layout.items()
        if isinstance(xy, list)
        and len(xy) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in xy)
    }


@designers_only
@require_POST
def workflow_save(request: HttpRequest, key: str) -> JsonResponse:
    """Save the posted `document` (and the canvas `layout`) as the draft; returns its problems."""
    workflow = get_object_or_404(Workflow, key=key)
    data = _body(request)
    document, layout = data.get("document"), data.get("layout")
    if wrong_key := _same_key(workflow, document):
        return _problems(wrong_key, status=400)
    try:
        _workflow, problems = do_save_draft(
            document, actor=request.user, layout=_clean_layout(layout)
        )
    except WorkflowInvalid as invalid:
        return _problems(invalid.problems, status=400)
    return _problems(problems, saved=True)


@designers_only
@require_POST
def workflow_validate(request: HttpRequest, key: str) -> JsonResponse:
    """Every problem of the posted document, roles and users checked as a deploy would."""
    workflow = get_object_or_404(Workflow, key=key)
    document = _body(request).get("document")
    problems = _same_key(workflow, document)
    problems += validate_document(document, directory=DjangoRoleCatalog())
    return _problems(problems)


@designers_only
@require_POST
def workflow_deploy(request: HttpRequest, key: str) -> JsonResponse:
    """Freeze the saved draft as the next version (the canvas saves first)."""
    workflow = get_object_or_404(Workflow, key=key)
    try:
        version, created = do_deploy_workflow(workflow, actor=request.user)
    except WorkflowInvalid as invalid:
        return _problems(invalid.problems, status=400)
    return _problems([], version=version.number, created=created)


@designers_only
@require_POST
def workflow_yaml(request: HttpRequest, key: str) -> JsonResponse:
    """The posted document as YAML, for the text view."""
    get_object_or_404(Workflow, key=key)
    document = _body(request).get("document")
    if not isinstance(document, dict):
        return _problems([Problem("(document)", _("no document was sent"))], status=400)
    return JsonResponse({"yaml": dump_document(document)})


@designers_only
@require_POST
def workflow_yaml_apply(request: HttpRequest, key: str) -> JsonResponse:
    """Read the edited YAML and save it as the draft; the canvas then shows it."""
    workflow = get_object_or_404(Workflow, key=key)
    try:
        document = load_document(str(_body(request).get("yaml", "")), filename="draft.yaml")
    except DocumentError as error:
        return _problems(error.problems, status=400)
    if wrong_key := _same_key(workflow, document):
        return _problems(wrong_key, status=400)
    try:
        _workflow, problems = do_save_draft(document, actor=request.user)
    except WorkflowInvalid as invalid:
        return _problems(invalid.problems, status=400)
    return _problems(problems, saved=True, document=document)


def _revision(workflow: Workflow, versions: list[WorkflowVersion], name: str) -> tuple[str, dict]:
    """("v3", document) for "3", ("draft", draft) for anything else."""
    for version in versions:
        if str(version.number) == name:
            return f"v{version.number}", version.document
    return "draft", workflow.draft


@designers_only
def workflow_history(request: HttpRequest, key: str) -> HttpResponse:
    """The versions, and a unified diff of the YAML of two of them (or of one and the draft)."""
    workflow = get_object_or_404(Workflow, key=key)
    versions = list(workflow.versions.select_related("deployed_by").order_by("-number"))
    default_old = str(versions[1].number) if len(versions) > 1 else "draft"
    default_new = str(versions[0].number) if versions else "draft"
    old_name, old = _revision(workflow, versions, request.GET.get("a", default_old))
    new_name, new = _revision(workflow, versions, request.GET.get("b", default_new))
    diff = list(
        difflib.unified_diff(
            dump_document(old).splitlines(),
            dump_document(new).splitlines(),
            fromfile=f"{workflow.key} {old_name}",
            tofile=f"{workflow.key} {new_name}",
            lineterm="",
        )
    )
    context = {
        "workflow": workflow,
        "versions": versions,
        "old": old_name,
        "new": new_name,
        "diff": diff,
    }
    return render(request, "workflows/workflow_history.html", context)
