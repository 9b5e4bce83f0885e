"""Polling a status URL until a success or failure condition holds, or the timeout passes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from flowdesk.automation import runner
from flowdesk.automation.models import AutomationRun
from tests.automation.conftest import Reply, automation_service, run_of, work

pytestmark = pytest.mark.django_db
Status = AutomationRun.Status


@pytest.fixture
def polling(system, submit):
    """A ticket whose step started job J42 and now polls its status; (ticket, run)."""
    service = automation_service(
        "deploy-poll",
        {
            "action": "http",
            "request": {
                "url": system.url + "/jobs",
                "headers": {"Authorization": "Bearer {{ secrets.DEPLOY_TOKEN }}"},
                "body": {"version": "{{ values.version }}"},
            },
            "wait": "poll",
            "poll": {
                "url": system.url + "/jobs/{{ response.id }}",
                "interval": "30s",
                "timeout": "10m",
                "success": {"path": "state", "eq": "done"},
                "failure": {"path": "state", "in": ["failed", "aborted"]},
            },
            "outputs": {"deploy_id": "id", "deploy_state": "state"},
        },
    )
    system.reply("/jobs", Reply(201, {"id": "J42", "state": "queued"}))
    ticket = submit(service)
    run = work(run_of(ticket))
    assert run.status == Status.POLLING
    return ticket, run


def poll_now(run: AutomationRun) -> AutomationRun:
    """The interval has passed: the sweep looks at the status once."""
    AutomationRun.objects.filter(pk=run.pk).update(next_poll_at=timezone.now())
    runner.sweep()
    run.refresh_from_db()
    return run


def test_polls_until_success_and_stores_the_final_answer(polling, system):
    ticket, run = polling
    assert run.next_poll_at - timezone.now() > timedelta(seconds=25)
    assert runner.sweep() == 0  # not due yet
    system.reply(
        "/jobs/J42",
        Reply(200, {"id": "J42", "state": "running"}),
        Reply(503, b"busy"),
        Reply(200, {"id": "J42", "state": "done"}),
    )

    assert poll_now(run).status == Status.POLLING
    run = poll_now(run)
    assert run.status == Status.POLLING and "answered 503" in run.error  # looked again later
    run = poll_now(run)

    assert run.status == Status.SUCCEEDED, run.error
    polls = system.calls_to("/jobs/J42")
    assert len(polls) == 3 and polls[0].method == "GET"
    assert polls[0].headers["Authorization"] == "Bearer tok-123"
    ticket.refresh_from_db()
    assert ticket.values["deploy_id"] == "J42"
    assert ticket.values["deploy_state"] == "done"


def test_polls_until_failure(polling, system):
    ticket, run = polling
    system.reply("/jobs/J42", Reply(200, {"id": "J42", "state": "aborted"}))

    run = poll_now(run)

    assert run.status == Status.FAILED
    assert run.error == "The status says failure: 'state' is \"aborted\"."
    assert ticket.events.filter(kind="automation_failed").count() == 1


def test_fails_when_nothing_holds_before_the_timeout(polling, system):
    ticket, run = polling
    system.reply("/jobs/J42", Reply(200, {"id": "J42", "state": "running"}))
    poll_now(run)
    AutomationRun.objects.filter(pk=run.pk).update(deadline=timezone.now())

    runner.sweep()

    run.refresh_from_db()
    assert run.status == Status.FAILED
    assert run.error == "The job did not finish within 10m."
    assert len(system.calls_to("/jobs/J42")) == 1
