"""A designer builds a small workflow by mouse, deploys it, offers it as a service, and a
ticket runs on it: the conditional line decides where it goes."""

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from flowdesk.tickets.models import Ticket

from .conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#fd-usermenu")).to_be_visible()


def node(page: Page, node_id: str) -> Locator:
    """The canvas box of a workflow node, found by the id it shows."""
    label = page.locator(".fdd-node-id", has_text=re.compile(f"^{node_id}$"))
    return page.locator(".drawflow-node", has=label)


def drawflow_id(box: Locator) -> str:
    return box.get_attribute("id").removeprefix("node-")


def line(page: Page, source: str, target: str) -> Locator:
    a, b = drawflow_id(node(page, source)), drawflow_id(node(page, target))
    return page.locator(f"svg.connection.node_out_node-{a}.node_in_node-{b} path.main-path")


def click_line(page: Page, source: str, target: str) -> None:
    """Click the middle of a line (a straight line has no height, so no "visible" box)."""
    middle = line(page, source, target).evaluate(
        """path => {
            const p = path.getPointAtLength(path.getTotalLength() / 2);
            const m = path.getScreenCTM();
            return {x: m.a * p.x + m.c * p.y + m.e, y: m.b * p.x + m.d * p.y + m.f};
        }"""
    )
    page.mouse.click(middle["x"], middle["y"])


def connect(page: Page, source: str, target: str) -> None:
    """Drag from the source's output dot to the target's input dot."""
    start = node(page, source).locator(".output").bounding_box()
    end = node(page, target).locator(".input").bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=8)
    page.mouse.up()
    expect(line(page, source, target)).to_have_count(1)


def drop_from_palette(page: Page, label: str, x: int, y: int) -> None:
    item = page.locator(".fdd-palette-item", has_text=label)
    item.drag_to(page.locator("#fdd-canvas"), target_position={"x": x, "y": y})


def test_design_deploy_offer_and_submit(page: Page, live_server, demo, screenshots) -> None:
    base = live_server.url
    sign_in(page, base, "admin")

    # A new workflow starts as submit -> done.
    page.get_by_role("link", name="Workflow designer").click()
    page.get_by_role("link", name="New workflow").click()
    page.get_by_label("Key").fill("door-access")
    page.get_by_label("Name", exact=True).fill("Door access")
    page.get_by_label("Type").select_option("request")
    page.get_by_label("Scope").select_option("global")
    page.get_by_role("button", name="Create and open the designer").click()
    expect(node(page, "submit")).to_be_visible()
    panel = page.locator("#fdd-panel")

    # Replace the straight line by a gateway and a task, dropped from the palette.
    click_line(page, "submit", "done")
    panel.get_by_role("button", name="Delete").click()
    expect(line(page, "submit", "done")).to_have_count(0)
    drop_from_palette(page, "Exclusive gateway", 260, 320)
    drop_from_palette(page, "Task", 480, 420)
    expect(node(page, "gateway_1")).to_be_visible()
    expect(node(page, "task_1")).to_be_visible()
    connect(page, "submit", "gateway_1")
    connect(page, "gateway_1", "task_1")
    connect(page, "gateway_1", "done")
    connect(page, "task_1", "done")
    page.get_by_role("button", name="Auto-layout").click()

    # The start node gets a required select field "Priority".
    node(page, "submit").click()
    panel.get_by_role("button", name="New field").click()
    panel.get_by_label("Key").fill("priority")
    panel.get_by_label("Key").press("Tab")
    panel.get_by_label("Type").select_option("select")
    panel.get_by_label("Label (English)").fill("Priority")
    panel.get_by_label("Options").fill("normal = Normal\nurgent = Urgent | 紧急")
    panel.get_by_label("Options").press("Tab")
    panel.get_by_label("Required").check()

    # The task is done by the requester.
    node(page, "task_1").click()
    panel.get_by_label("Name (English)").fill("Open the door")
    panel.get_by_role("button", name="Add operator").click()
    panel.get_by_label("Operator type").select_option("requester")
    expect(node(page, "task_1")).to_contain_text("Open the door")

    # Validating now shows the gateway's missing default on the gateway itself.
    page.get_by_role("button", name="Validate").click()
    expect(node(page, "gateway_1")).to_have_class(re.compile("fdd-has-problem"))
    expect(node(page, "gateway_1").locator(".fdd-node-problems")).to_contain_text("default")

    # Urgent requests go to the task; everything else straight to the end.
    click_line(page, "gateway_1", "task_1")
    panel.get_by_role("button", name="Add a condition").click()
    panel.locator(".fdd-clause-subject").select_option("field:priority")
    panel.locator(".fdd-clause-value").select_option("urgent")
    click_line(page, "gateway_1", "done")
    panel.get_by_label("Default line").check()
    expect(page.locator(".fdd-line-label", has_text="priority = urgent")).to_be_visible()

    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#fdd-status")).to_have_text("Deployed as version 1.")
    expect(page.locator(".fdd-has-problem")).to_have_count(0)
    screenshots.take(page, "designer.en")

    # Offer it as a service from the administration pages.
    page.get_by_role("link", name="Offer as a service").click()
    page.get_by_label("Key").fill("door-access")
    page.get_by_label("Name", exact=True).fill("Door access")
    expect(page.get_by_label("Workflow")).to_have_value(re.compile(r"\d+"))
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("link", name="door-access")).to_be_visible()
    screenshots.take(page, "manage-services.en")
    page.goto(f"{base}/manage/businesses/game-a/")
    expect(page.locator("#fdm-members")).to_contain_text("pm_alice")
    screenshots.take(page, "manage-business.en")

    # A ticket on it: urgent, so it waits at the task, for the requester.
    page.get_by_role("link", name="Service catalog").click()
    page.get_by_role("link", name="Door access").first.click()
    page.get_by_label("Title").fill("Let the auditors into room 3")
    page.get_by_label("Priority").select_option("urgent")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#fd-status")).to_have_text("Running")
    ticket = Ticket.objects.get(title="Let the auditors into room 3")
    assert ticket.service.key == "door-access"
    assert ticket.version.number == 1
    assert [task.node_id for task in ticket.tasks.filter(status="open")] == ["task_1"]

    # The designer speaks Chinese too.
    page.goto(f"{base}/designer/door-access/")
    page.locator("#fd-usermenu").click()
    page.get_by_role("button", name="简体中文").click()
    expect(page.get_by_role("button", name="自动布局")).to_be_visible()
    expect(node(page, "task_1")).to_contain_text("任务")
    screenshots.take(page, "designer.zh-hans")
