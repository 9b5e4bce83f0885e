"""The administrator's view of what Flowdesk told people: outbox, a mail, templates, health – and
the ticket page after the package check. Takes the docs' screenshots of these pages."""

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from flowdesk.directory.models import Business
from flowdesk.tickets import actions
from flowdesk.tickets.models import Ticket
from tests.web.conftest import SUBMIT

from .test_release_scenario import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_sees_what_was_sent(
    page: Page, live_server, demo, users, screenshots, settings, immediate_tasks
):
    settings.FLOWDESK_BASE_URL = live_server.url
    ticket = actions.do_submit_ticket(
        Ticket._meta.get_field("service").related_model.objects.get(key="app-release"),
        actor=users.pm_alice,
        title="Release server 2.4.1",
        business=Business.objects.get(key="game-a"),
        values=SUBMIT,
    )
    ticket.refresh_from_db()
    assert ticket.events.filter(kind="automation_succeeded").exists()  # the package matched
    (todo,) = [m for m in mail.outbox if m.to == ["test_bob@example.com"]]
    assert ticket.sn in todo.subject

    base = live_server.url
    sign_in(page, base, "admin")
    page.goto(f"{base}/manage/notifications/")
    row = page.locator("tr", has_text="test_bob@example.com")
    expect(row).to_contain_text("sent")
    screenshots.take(page, "outbox.en")

    row.get_by_role("link").first.click()
    expect(page.locator("body")).to_contain_text(ticket.sn)
    expect(page.locator("body")).to_contain_text(todo.extra_headers["X-Flowdesk-Delivery"])
    screenshots.take(page, "delivery.en")

    page.goto(f"{base}/manage/notifications/templates/task_opened/zh-hans/")
    expect(page.get_by_label("Subject")).not_to_be_empty()
    screenshots.take(page, "notification-template.en")

    page.goto(f"{base}/manage/notifications/health/")
    expect(page.locator("body")).to_contain_text("database")  # the task queue in use
    screenshots.take(page, "notification-health.en")

    page.goto(f"{base}/tickets/{ticket.sn}/")
    expect(page.locator("body")).to_contain_text("Verify package checksum")
    history = page.locator("#fd-timeline")
    expect(history).to_contain_text("Checksum matches")  # the package verified, with its digests
    expect(history).to_contain_text(SUBMIT["package_md5"])
    screenshots.take(page, "ticket-checksum.en")
