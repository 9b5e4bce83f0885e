"""State changes of workflow designs: saving drafts and deploying versions."""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction

from flowdesk.audit.recording import record
from flowdesk.directory.access import can_design_workflows
from flowdesk.directory.resolver import DjangoRoleCatalog
from flowdesk.engine.validation import Problem, validate_document
from flowdesk.workflows.models import Workflow, WorkflowVersion, document_checksum

# Problems at these paths leave nothing to save a draft under.
_DRAFT_BLOCKING_PATHS = ("(document)", "key", "name", "type")


class WorkflowInvalid(Exception):
    """A document that may not be saved or deployed; `problems` says why, each with a path."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def _check_designer(actor: AbstractBaseUser | None) -> None:
    # actor None is the local operator at the command line, who already holds the database.
    if actor is not None and not can_design_workflows(actor):
        raise PermissionDenied("You may not design workflows.")


def do_save_draft(
    document: object,
    *,
    actor: AbstractBaseUser | None,
    strict: bool = False,
    layout: dict[str, list[float]] | None = None,
) -> tuple[Workflow, list[Problem]]:
    """Create or update the draft named by the document's key.

    Drafts are edited freely: problems are returned, not raised, unless the document has no
    usable key, name or type, or `strict` asks for a fully valid document (import does).
    `layout` (the designer's node positions) replaces the stored one; None keeps it.
    """
    _check_designer(actor)
    problems = validate_document(document)
    blocking = [p for p in problems if p.path.split("[")[0].split(".")[0] in _DRAFT_BLOCKING_PATHS]
    if blocking or (strict and problems):
        raise WorkflowInvalid(problems)
    assert isinstance(document, dict)
    name = document["name"]
    names = name if isinstance(name, dict) else {"en": name}
    with transaction.atomic(durable=True):
        workflow, created = Workflow.objects.select_for_update().get_or_create(
            key=document["key"],
            defaults={
                "name": names["en"],
                "name_zh": names.get("zh", ""),
                "type": document["type"],
                "draft": document,
                "layout": layout or {},
            },
        )
        if not created:
            workflow.name, workflow.name_zh = names["en"], names.get("zh", "")
            workflow.type, workflow.draft = document["type"], document
            fields = ["name", "name_zh", "type", "draft", "draft_updated_at"]
            if layout is not None:
                workflow.layout = layout
                fields.append("layout")
            workflow.save(update_fields=fields)
        audit = {"checksum": document_checksum(document), "created": created}
        record(
            "workflow.draft_saved",
            actor=actor,
            obj_type="workflow",
            obj_id=workflow.key,
            data=audit,
        )
    return workflow, problems


def do_deploy_workflow(
    workflow: Workflow, *, actor: AbstractBaseUser | None
) -> tuple[WorkflowVersion, bool]:
    """Freeze the draft as the next numbered version; returns (version, created).

    Deploying a draft identical to the latest version returns that version unchanged, so
    re-running an import or the demo does not pile up versions.
    """
    _check_designer(actor)
    with transaction.atomic(durable=True):
        workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
        problems = validate_document(workflow.draft, directory=DjangoRoleCatalog())
        if problems:
            raise WorkflowInvalid(problems)
        checksum = document_checksum(workflow.draft)
        latest = workflow.latest_version()
        if latest is not None and latest.checksum == checksum:
            return latest, False
        version = WorkflowVersion.objects.create(
            workflow=workflow,
            number=(latest.number + 1) if latest else 1,
            document=workflow.draft,
            checksum=checksum,
            deployed_by=actor,
        )
        audit = {"version": version.number, "checksum": checksum}
        record(
            "workflow.deployed", actor=actor, obj_type="workflow", obj_id=workflow.key, data=audit
        )
    return version, True
