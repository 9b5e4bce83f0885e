"""Set-up through the public actions, never raw saves."""

from flowdesk.catalog.actions import do_save_service
from flowdesk.catalog.models import Service
from flowdesk.workflows.actions import do_deploy_workflow, do_save_draft


def deploy_service(document: dict, **service_options) -> Service:
    """Save, deploy and offer `document` as a service with the same key."""
    workflow, _problems = do_save_draft(document, actor=None, strict=True)
    do_deploy_workflow(workflow, actor=None)
    return do_save_service(
        document["key"], name=document["key"], workflow=workflow, actor=None, **service_options
    )


def global_workflow(
    key: str, nodes: list[dict], transitions: list[dict], start_fields: list[str] = (), **extra
) -> dict:
    """A small `scope: global` change workflow for tests: submit → nodes… → done."""
    return {
        "key": key,
        "name": key,
        "type": "change",
        "scope": "global",
        "nodes": [
            {"id": "submit", "type": "start", "name": "Submit", "fields": list(start_fields)},
            *nodes,
            {"id": "done", "type": "end"},
        ],
        "transitions": transitions,
        **extra,
    }
