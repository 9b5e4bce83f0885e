"""The upload widget and the table editor in a browser: pm_alice submits evidence and a host
table, the server refuses a row, she fixes it; test_bob downloads the file from the ticket."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.factories import deploy_service
from tests.web.test_attachments import evidence_workflow

from .test_release_scenario import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_submit_with_attachment_and_table_then_download(
    page: Page, live_server, demo, tmp_path
) -> None:
    deploy_service(evidence_workflow())
    base = live_server.url
    notes = tmp_path / "release-notes.txt"
    notes.write_text("all green\n")

    sign_in(page, base, "pm_alice")
    page.goto(f"{base}/catalog/evidence/")
    page.get_by_label("Title").fill("Roll out web tier")
    page.get_by_label("Evidence").set_input_files(str(notes))
    chip = page.locator("[data-fd-chip]", has_text="release-notes.txt")
    expect(chip).to_contain_text("10 bytes")

    page.get_by_role("button", name="Add row").click()
    page.get_by_role("button", name="Add row").click()
    page.get_by_role("button", name="Add row").click()
    page.get_by_label("Host 1", exact=True).fill("web-1")
    page.get_by_label("CPUs 1", exact=True).fill("4")
    page.get_by_label("CPUs 2", exact=True).fill("8")  # no host: the server refuses row 2
    page.get_by_role("button", name="Remove row 3").click()
    page.get_by_role("button", name="Submit").click()

    field = page.locator("#fd-field-hosts")
    expect(field).to_contain_text("Row 2, column 'host': this column is required.")
    expect(field.locator("tr.table-danger")).to_have_count(1)
    expect(page.get_by_label("Host 1", exact=True)).to_have_value("web-1")  # kept as typed
    expect(chip).to_be_visible()  # the upload is still on the form
    page.get_by_label("Host 2", exact=True).fill("web-2")
    page.get_by_role("button", name="Submit").click()

    sn = page.locator("#fd-sn").inner_text()
    snapshot = page.locator(".fd-values .fd-table-value")  # also in the history's changes
    expect(snapshot).to_contain_text("web-2")
    expect(snapshot.locator("tbody tr")).to_have_count(2)

    sign_in(page, base, "test_bob")
    page.goto(f"{base}/tickets/{sn}/")
    with page.expect_download() as download:
        page.get_by_role("link", name="release-notes.txt").first.click()
    assert download.value.suggested_filename == "release-notes.txt"
    assert Path(download.value.path()).read_text(encoding="utf-8") == "all green\n"
