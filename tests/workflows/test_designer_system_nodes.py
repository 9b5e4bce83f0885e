"""The designer's side of timer and automation nodes, SLAs and notification strategies: what the
editor page offers the panels, that such a document saves as sent, and that the server's
problems name the keys the panels mark (designer-options.js `problemIn`)."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from flowdesk import engine
from flowdesk.sla.actions import do_save_calendar
from tests.factories import global_workflow
from tests.web.test_designer import post_json

pytestmark = pytest.mark.django_db

FIELDS = [
    {"key": "package_url", "type": "url", "label": "Package"},
    {"key": "package_md5", "type": "checksum", "algorithm": "md5", "label": "MD5"},
    {"key": "planned_at", "type": "datetime", "label": "Planned"},
    {"key": "job_id", "type": "string", "label": "Job"},
]


def with_system_nodes(check: dict, wait: dict, **settings: object) -> dict:
    """submit → check (a checksum automation) → deploy (an HTTP automation) → wait → done."""
    nodes = [
        {"id": "check", "type": "automation", "name": "Check", **check},
        {
            "id": "deploy",
            "type": "automation",
            "name": "Deploy",
            "fields": ["job_id"],
            "automation": {
                "action": "http",
                "request": {
                    "method": "GET",
                    "url": "https://deploy.example.com/jobs?package={{ values.package_url }}",
                    "timeout": "10s",
                    "headers": {"X-Source": "flowdesk"},
                },
                "wait": "poll",
                "poll": {
                    "url": "https://deploy.example.com/status",
                    "interval": "30s",
                    "timeout": "10m",
                    "success": {"path": "status", "eq": "done"},
                },
                "outputs": {"job_id": "data.id"},
            },
        },
        {"id": "wait", "type": "timer", "name": "Wait", **wait},
    ]
    document = global_workflow(
        "small",
        nodes=nodes,
        transitions=[
            {"from": "submit", "to": "check"},
            {"from": "check", "to": "deploy"},
            {"from": "deploy", "to": "wait"},
            {"from": "wait", "to": "done"},
        ],
        start_fields=["package_url", "package_md5", "planned_at"],
        fields=FIELDS,
    )
    document["nodes"][0]["operators"] = [{"type": "requester"}]
    if settings:
        document["settings"] = settings
    return document


def editor_config(client: Client, key: str) -> dict:
    page = client.get(reverse("workflows:workflow_edit", args=[key])).content.decode()
    script = page.split('id="fdd-config" type="application/json">')[1]
    return json.loads(script.split("</script>")[0])


def test_editor_offers_the_new_nodes_and_the_choices_of_their_panels(designer, small) -> None:
    do_save_calendar("workdays", actor=None)
    config = editor_config(designer, "small")
    assert config["text"]["icons"]["timer"] == "bi-hourglass-split"
    assert config["text"]["icons"]["automation"] == "bi-gear-wide-connected"
    assert config["nodeKinds"] == {
        "human": ["approval", "start", "task"],
        "system": ["automation", "timer"],
    }
    assert config["httpMethods"] == list(engine.HTTP_METHODS)
    assert config["calendars"] == ["workdays"]
    notify = config["notify"]
    assert [c["value"] for c in notify["channels"]] == ["email", "chat"]
    assert [e["value"] for e in notify["events"]] == list(engine.NOTIFY_EVENTS)
    ticket_wide = [e["value"] for e in notify["events"] if e["ticket"]]
    assert ticket_wide == ["finished", "terminated", "withdrawn"]  # not offered on nodes
    assert notify["defaults"] == {"channels": ["email"], "events": list(engine.NOTIFY_EVENTS)}


def test_editor_labels_the_new_panels_in_chinese(designer, small) -> None:
    designer.cookies.load({"django_language": "zh-hans"})
    page = designer.get(reverse("workflows:workflow_edit", args=["small"])).content.decode()
    for label in ("定时器", "自动化", "时限", "超时后通知", "沿用流程设置", "校验文件的校验和"):
        assert label in page, label
    assert editor_config(designer, "small")["text"]["checksumCheck"] == "校验和检查"


def test_a_document_with_every_new_option_saves_as_sent(designer, small) -> None:
    check = {
        "operators": [{"type": "requester"}],
        "automation": {
            "action": "checksum",
            "checksum": {"url_field": "package_url", "md5_field": "package_md5"},
            "on_failure": "return",
            "return_to": "submit",
        },
        "sla": {
            "due": "2h",
            "warn_at": 50,
            "escalate_to": [{"type": "general_role", "role": "QC"}],
            "reassign": True,
        },
        "notify": {"channels": ["chat"], "events": ["task_opened", "automation_failed"]},
    }
    wait = {"timer": {"until_field": "planned_at"}}
    notify = {"channels": ["email", "chat"], "remind_every": "4h"}
    document = with_system_nodes(check, wait, notify=notify)
    response = post_json(designer, "save", "small", {"document": document})
    assert response.json() == {"problems": [], "saved": True}
    small.refresh_from_db()
    assert small.draft == document


def test_problems_name_the_keys_the_panels_mark(designer, small) -> None:
    check = {
        "automation": {
            "action": "checksum",
            "checksum": {"url_field": "package_md5", "md5_field": "planned_at"},
        },
        "sla": {"due": "soon"},
        "notify": {"events": ["finished"]},
    }
    wait = {"timer": {"until_field": "job_id"}}
    document = with_system_nodes(check, wait, notify={"remind_every": "daily"})
    response = post_json(designer, "validate", "small", {"document": document})
    paths = {p["path"] for p in response.json()["problems"]}
    assert {
        "nodes[1].automation.checksum.url_field",
        "nodes[1].automation.checksum.md5_field",
        "nodes[1].sla.due",
        "nodes[1].notify.events[0]",
        "nodes[3].timer.until_field",
        "settings.notify.remind_every",
    } <= paths, paths
