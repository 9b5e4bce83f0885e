"""A designer adds timer and automation nodes by mouse and fills their panels – checksum check,
HTTP call with its JSON part, SLA, notifications – and the saved draft holds exactly what was
chosen, no more; problems the server finds mark the inputs at fault."""

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from flowdesk.workflows.actions import do_save_draft
from flowdesk.workflows.models import Workflow

from .test_designer import click_line, connect, drop_from_palette, node, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KEY = "release-check"
SAVED = "Draft saved. No problems: it can be deployed."
FIELDS = [
    {"key": "package_url", "type": "url", "label": "Package"},
    {"key": "package_md5", "type": "checksum", "algorithm": "md5", "label": "MD5"},
    {"key": "planned_at", "type": "datetime", "label": "Planned"},
    {"key": "job_id", "type": "string", "label": "Job"},
]
SUBMIT = {
    "id": "submit",
    "type": "start",
    "name": "Submit",
    "operators": [{"type": "requester"}],
    "fields": ["package_url", "package_md5", "planned_at"],
}
DONE = {"id": "done", "type": "end"}


@pytest.fixture
def designer_page(page: Page, live_server, demo) -> Page:
    """The designer open on submit → done, signed in as an admin."""
    document = {
        "key": KEY,
        "name": "Release check",
        "type": "change",
        "scope": "business",
        "fields": FIELDS,
        "nodes": [SUBMIT, DONE],
        "transitions": [{"from": "submit", "to": "done"}],
    }
    do_save_draft(document, actor=None)
    sign_in(page, live_server.url, "admin")
    page.goto(f"{live_server.url}/designer/{KEY}/")
    expect(node(page, "submit")).to_be_visible()
    click_line(page, "submit", "done")
    page.locator("#fdd-panel").get_by_role("button", name="Delete").click()
    return page


def draft() -> dict:
    return Workflow.objects.get(key=KEY).draft


def fill(field: Locator, value: str) -> None:
    """Type into an input the panel reads on change."""
    field.fill(value)
    field.press("Tab")


def test_checksum_and_timer_nodes_by_mouse(designer_page: Page, screenshots) -> None:
    page, panel = designer_page, designer_page.locator("#fdd-panel")
    drop_from_palette(page, "Automation", 300, 260)
    drop_from_palette(page, "Timer", 300, 420)
    connect(page, "submit", "automation_1")
    connect(page, "automation_1", "timer_1")
    connect(page, "timer_1", "done")
    page.get_by_role("button", name="Auto-layout").click()

    # The checksum check: the package at package_url against package_md5.
    node(page, "automation_1").click()
    panel.get_by_label("Name (English)").fill("Check the package")
    panel.get_by_label("Action").select_option("checksum")
    panel.get_by_label("Download the file at the URL in").select_option("package_url")
    panel.get_by_label("Compare its MD5 with").select_option("package_md5")
    sha256 = panel.get_by_label("Compare its SHA-256 with")
    expect(sha256.locator("option[value=package_md5]")).to_have_count(0)  # an md5 field
    panel.get_by_label("When it fails").select_option("return")
    panel.get_by_label("Return to").select_option("submit")
    panel.get_by_role("button", name="Add operator").click()
    panel.get_by_label("Operator type").select_option("business_role")
    panel.get_by_label("Role").select_option("ops")
    expect(node(page, "automation_1")).to_contain_text("checksum check")

    # Its SLA, first with a due time the server refuses.
    fill(panel.get_by_label("Due within"), "soon")
    fill(panel.get_by_label("Warn at (percent)"), "50")
    panel.get_by_role("button", name="Add someone to tell").click()
    panel.get_by_label("Operator type").last.select_option("general_role")
    panel.get_by_label("Role").last.select_option("QC")
    panel.get_by_label("and give them the step").check()
    page.get_by_role("button", name="Validate").click()
    expect(node(page, "automation_1")).to_have_class(re.compile("fdd-has-problem"))
    expect(node(page, "automation_1").locator(".fdd-node-problems")).to_contain_text("sla.due")
    expect(panel.get_by_label("Due within")).to_have_class(re.compile("is-invalid"))
    fill(panel.get_by_label("Due within"), "2h")

    # Its notifications: chat instead of e-mail, for two events.
    expect(panel.get_by_text("(as the workflow says)")).to_be_visible()
    expect(panel.get_by_label("Events").locator("option[value=finished]")).to_have_count(0)
    panel.get_by_label("E-mail").uncheck()
    panel.get_by_label("Chat").check()
    panel.get_by_label("Events").select_option(["task_opened", "automation_failed"])

    # The timer waits for the planned release time.
    node(page, "timer_1").click()
    panel.get_by_label("Wait until the moment in the field").select_option("planned_at")
    expect(panel.get_by_label("counted in the working hours of the calendar")).to_have_count(0)
    expect(node(page, "timer_1")).to_contain_text("until Planned")

    # The workflow: e-mail and chat, reminders every 4 hours (first a wrong duration).
    page.locator("#fdd-canvas").click(position={"x": 8, "y": 8})
    expect(panel.get_by_role("heading", name="Workflow")).to_be_visible()
    panel.get_by_label("Chat").check()
    fill(panel.get_by_label("Remind the candidates of an open to-do every"), "daily")
    page.get_by_role("button", name="Validate").click()
    expect(panel.locator(".fdd-panel-problems")).to_contain_text("settings.notify.remind_every")
    remind = panel.get_by_label("Remind the candidates of an open to-do every")
    expect(remind).to_have_class(re.compile("is-invalid"))
    fill(remind, "4h")

    page.get_by_role("button", name="Auto-layout").click()  # the boxes grew with their details
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#fdd-status")).to_have_text(SAVED)
    page.get_by_role("button", name="Validate").click()
    expect(page.locator("#fdd-status")).to_have_text("No problems: the draft can be deployed.")

    page.reload()
    saved = draft()
    assert saved["settings"] == {"notify": {"channels": ["email", "chat"], "remind_every": "4h"}}
    assert saved["nodes"] == [
        SUBMIT,
        DONE,
        {
            "id": "automation_1",
            "type": "automation",
            "name": {"en": "Check the package", "zh": "自动化"},
            "automation": {
                "action": "checksum",
                "checksum": {"url_field": "package_url", "md5_field": "package_md5"},
                "on_failure": "return",
                "return_to": "submit",
            },
            "operators": [{"type": "business_role", "role": "ops"}],
            "sla": {
                "due": "2h",
                "warn_at": 50,
                "escalate_to": [{"type": "general_role", "role": "QC"}],
                "reassign": True,
            },
            "notify": {"channels": ["chat"], "events": ["task_opened", "automation_failed"]},
        },
        {
            "id": "timer_1",
            "type": "timer",
            "name": {"en": "Wait", "zh": "等待"},
            "timer": {"until_field": "planned_at"},
        },
    ]
    assert saved["transitions"] == [
        {"from": "submit", "to": "automation_1"},
        {"from": "automation_1", "to": "timer_1"},
        {"from": "timer_1", "to": "done"},
    ]

    # After the reload the panel reads the document back.
    node(page, "automation_1").click()
    expect(panel.get_by_label("Action")).to_have_value("checksum")
    expect(panel.get_by_label("Compare its MD5 with")).to_have_value("package_md5")
    expect(panel.get_by_label("Due within")).to_have_value("2h")
    expect(panel.get_by_label("Chat")).to_be_checked()
    expect(panel.get_by_label("E-mail")).not_to_be_checked()
    screenshots.take(page, "designer-automation.en")

    page.locator("#fdd-yaml-tab").click()
    yaml = page.locator("#fdd-yaml")
    for line in ("action: checksum", "md5_field: package_md5", "until_field: planned_at"):
        expect(yaml).to_have_value(re.compile(re.escape(line)))


def test_http_call_with_its_json_part(designer_page: Page) -> None:
    page, panel = designer_page, designer_page.locator("#fdd-panel")
    page.locator(".fdd-palette-item", has_text="Automation").click()
    connect(page, "submit", "automation_1")
    connect(page, "automation_1", "done")

    node(page, "automation_1").click()
    panel.get_by_label("Action").select_option("http")
    panel.get_by_label("Method").select_option("GET")
    url = "https://deploy.example.com/jobs?package={{ values.package_url }}"
    fill(panel.locator("#fdd-http-url"), url)
    fill(panel.get_by_label("Timeout", exact=True), "10s")
    panel.get_by_label("Then").select_option("poll")
    panel.get_by_label("Add an existing field").select_option("job_id")

    # The JSON part says what is wrong as it is typed, and applies once it reads.
    json_part = panel.locator("#fdd-http-json")
    error = panel.locator("#fdd-http-json-error")
    json_part.fill('{"poll": ')
    expect(error).to_contain_text("Not valid JSON")
    json_part.fill('{"retry": 2}')
    expect(error).to_have_text("“retry” is none of headers, body, callback, poll, outputs.")
    json_part.fill(
        '{"headers": {"X-Source": "flowdesk"},'
        ' "poll": {"url": "https://deploy.example.com/status", "interval": "30s",'
        ' "timeout": "10m", "success": {"path": "status", "eq": "done"}},'
        ' "outputs": {"job_id": "data.id"}}'
    )
    expect(error).to_be_hidden()
    expect(node(page, "automation_1")).to_contain_text("GET https://deploy.example.com/jobs")

    # Renaming the field renames the output that fills it.
    panel.get_by_role("link", name="Job (job_id)").click()
    fill(panel.get_by_label("Key"), "deploy_job")
    panel.get_by_role("link", name="Back to the node").click()
    expect(json_part).to_have_value(re.compile('"deploy_job": "data.id"'))

    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#fdd-status")).to_have_text(SAVED)
    page.reload()
    automation = next(n for n in draft()["nodes"] if n["id"] == "automation_1")
    assert automation["fields"] == ["deploy_job"]
    assert automation["automation"] == {
        "action": "http",
        "request": {
            "method": "GET",
            "url": url,
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
        "outputs": {"deploy_job": "data.id"},
    }

    # Going on at once drops the poll; the JSON part shows what is left.
    node(page, "automation_1").click()
    panel.get_by_label("Then").select_option("none")
    expect(panel.locator("#fdd-http-json")).not_to_have_value(re.compile("poll"))
    page.locator("#fdd-yaml-tab").click()
    expect(page.locator("#fdd-yaml")).not_to_have_value(re.compile("wait:"))
    expect(page.locator("#fdd-yaml")).to_have_value(re.compile("deploy_job: data.id"))
