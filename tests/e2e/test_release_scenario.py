"""The seed scenario, clicked through in a browser by five people."""

import pytest
from playwright.sync_api import Page, expect

from flowdesk.tickets.models import Ticket
from tests.packages import FIXED_MD5, FIXED_URL, PACKAGE_MD5, PACKAGE_URL

from .conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The served packages: the demo's checksum step downloads them before test confirmation.
MD5_BAD = PACKAGE_MD5  # the package that fails its test
MD5_FIXED = FIXED_MD5  # the rebuilt one, at FIXED_URL


def sign_in(page: Page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#fd-usermenu")).to_be_visible()


def open_from_todo(page: Page, base: str, sn: str) -> None:
    """The ticket is in the to-do list: open it from there."""
    page.goto(f"{base}/")
    expect(page.locator("#fd-todo-count")).not_to_have_text("0")
    page.get_by_role("link", name=sn).click()
    expect(page.locator("#fd-sn")).to_have_text(sn)


def test_release_through_the_pages(
    page: Page, live_server, demo, screenshots, immediate_tasks
) -> None:
    base = live_server.url

    # The administrator checks who holds the QC role.
    sign_in(page, base, "admin")
    page.goto(f"{base}/admin/directory/role/")
    page.get_by_role("link", name="QC", exact=True).click()
    expect(page.locator("body")).to_contain_text("qc_c")

    # pm_alice: Change management → New change → Application release.
    sign_in(page, base, "pm_alice")
    page.get_by_role("link", name="Change management").click()
    page.get_by_role("link", name="New change").click()
    page.locator(".fd-service-card", has_text="Application release").click()
    page.get_by_label("Title").fill("Release server 2.4.1")
    page.get_by_label("Business").select_option("game-a")
    page.get_by_label("Version package path").fill(PACKAGE_URL)
    page.get_by_label("Package MD5").fill(MD5_BAD)
    page.get_by_label("Release scope").fill("All game-a servers in region east")
    page.get_by_label("Planned release time").fill("2026-11-28T02:00")
    screenshots.take(page, "submit-form.en")
    page.get_by_role("button", name="Submit").click()
    sn = page.locator("#fd-sn").inner_text()
    expect(page.locator("#fd-status")).to_have_text("Running")

    # test_bob finds it in his to-do list and fails it: back to pm_alice.
    sign_in(page, base, "test_bob")
    screenshots.take(page, "workbench.en")
    open_from_todo(page, base, sn)
    page.get_by_label("Assessment").select_option("high_risk")
    page.get_by_label("Test result").select_option("fail")
    page.get_by_label("Test summary").fill("The server crashes on start.")
    page.get_by_role("button", name="Complete").click()
    expect(page.locator(".alert-success")).to_be_visible()

    # pm_alice submits a rebuilt package (its path and checksum) and resubmits.
    sign_in(page, base, "pm_alice")
    open_from_todo(page, base, sn)
    expect(page.get_by_label("Version package path")).to_have_value(PACKAGE_URL)
    expect(page.get_by_label("Package MD5")).to_have_value(MD5_BAD)
    page.get_by_label("Version package path").fill(FIXED_URL)
    page.get_by_label("Package MD5").fill(MD5_FIXED)
    page.get_by_role("button", name="Complete").click()

    # test_bob passes it.
    sign_in(page, base, "test_bob")
    open_from_todo(page, base, sn)
    page.get_by_label("Assessment").select_option("low_risk")
    page.get_by_label("Test result").select_option("pass")
    page.get_by_label("Test summary").fill("All green.")
    page.get_by_role("button", name="Complete").click()

    # ops_carol approves the coordination, then records the release.
    sign_in(page, base, "ops_carol")
    open_from_todo(page, base, sn)
    screenshots.take(page, "ticket-approval.en")
    page.locator("textarea[name=comment]").first.fill("Release slot booked.")
    page.get_by_role("button", name="Approve").click()
    open_from_todo(page, base, sn)
    page.get_by_label("Release summary").fill("Rolled out to 40 servers.")
    page.get_by_role("button", name="Complete").click()

    # qc_c evaluates.
    sign_in(page, base, "qc_c")
    open_from_todo(page, base, sn)
    page.get_by_label("Release evaluation").select_option("good")
    page.get_by_label("Evaluation summary").fill("No incidents linked.")
    page.get_by_role("button", name="Complete").click()

    # The ticket shows the finished process and the full history.
    expect(page.locator("#fd-status")).to_have_text("Finished")
    assert page.locator(".fd-node.pending").count() == 0
    assert page.locator(".fd-node.current").count() == 0
    timeline = page.locator("#fd-timeline")
    for text in ("Rolled out to 40 servers.", "The server crashes on start.", MD5_FIXED):
        expect(timeline).to_contain_text(text)
    ticket = Ticket.objects.get(sn=sn)
    assert ticket.status == Ticket.Status.FINISHED
    checks = ticket.events.filter(kind="automation_succeeded").values_list("node_id", flat=True)
    assert list(checks) == ["verify_package", "verify_package"]  # each package, before testing
    screenshots.take(page, "ticket.en")
    page.set_viewport_size({"width": 390, "height": 844})  # approving on the go
    screenshots.take(page, "ticket.phone.en")
    page.set_viewport_size({"width": 1280, "height": 900})

    if screenshots.enabled:
        take_chinese_screenshots(page, base, sn, screenshots)


def take_chinese_screenshots(page: Page, base: str, sn: str, screenshots: object) -> None:
    page.locator("#fd-usermenu").click()
    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    screenshots.take(page, "ticket.zh-hans")
    sign_in(page, base, "pm_alice")  # her profile keeps English; switch for the pictures
    page.locator("#fd-usermenu").click()
    page.get_by_role("button", name="简体中文").click()
    page.goto(f"{base}/?scope=mine")
    screenshots.take(page, "workbench.zh-hans")
    page.goto(f"{base}/catalog/app-release/")
    screenshots.take(page, "submit-form.zh-hans")
