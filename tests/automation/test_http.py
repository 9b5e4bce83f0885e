"""The HTTP call of an automation step against a real HTTP server: success with outputs,
failure after retries (the operators are told, the ticket waits), a timeout, and the
templates' secrets, which are sent but never stored."""

import json

import pytest
from django_tasks_db.models import DBTaskResult

from flowdesk.automation.actions import do_retry_automation
from flowdesk.automation.models import AutomationRun
from flowdesk.notify.models import Delivery
from flowdesk.tickets.models import Task
from flowdesk.tickets.queries import current_steps
from tests.automation.conftest import Reply, automation_service, run_of, work

pytestmark = pytest.mark.django_db
Status = AutomationRun.Status


def deploy(system, **options) -> dict:
    return {
        "action": "http",
        "request": {
            "method": "POST",
            "url": system.url + "/deploy/{{ ticket.serial }}",
            "headers": {"Authorization": "Bearer {{ secrets.DEPLOY_TOKEN }}"},
            "body": {"version": "{{ values.version }}", "by": "{{ ticket.requester }}"},
            "timeout": "5s",
        },
        "retries": 2,
        "outputs": {"deploy_id": "job.id", "deploy_state": "job.state"},
        **options,
    }


def open_nodes(ticket) -> list[str]:
    ticket.refresh_from_db()
    return [node for node, _name in current_steps(ticket)]


def test_success_maps_outputs_to_fields_and_goes_on(system, submit):
    service = automation_service("deploy-ok", deploy(system))
    ticket = submit(service)
    system.reply(f"/deploy/{ticket.sn}", Reply(200, {"job": {"id": "D-7", "state": "done"}}))

    run = work(run_of(ticket))

    assert run.status == Status.SUCCEEDED and run.response_status == 200
    (call,) = system.calls_to(f"/deploy/{ticket.sn}")
    assert call.headers["Authorization"] == "Bearer tok-123"  # the real secret is sent
    assert call.headers["Idempotency-Key"] == f"flowdesk-run-{run.pk}"
    assert json.loads(call.body) == {"version": "2.4.1", "by": "pm_alice"}
    # ...and only its name is kept, on the run and in the history
    assert run.request["headers"]["Authorization"] == "Bearer [secret DEPLOY_TOKEN]"
    assert "tok-123" not in json.dumps([run.request, list(ticket.events.values("data"))])
    ticket.refresh_from_db()
    assert ticket.values["deploy_id"] == "D-7" and ticket.values["deploy_state"] == "done"
    assert open_nodes(ticket) == ["review"]
    event = ticket.events.get(kind="automation_succeeded")
    assert event.actor is None and event.data["source"] == "system"
    assert event.data["automation"]["response_status"] == 200
    assert event.data["values"] == {"deploy_id": "D-7", "deploy_state": "done"}


def test_failure_after_retries_tells_the_operators_and_waits_then_a_retry_succeeds(
    system, submit, users
):
    service = automation_service("deploy-500", deploy(system))
    ticket = submit(service)
    path = f"/deploy/{ticket.sn}"
    system.reply(path, Reply(500, {"error": "db down"}))

    run = work(run_of(ticket))

    assert len(system.calls_to(path)) == 3  # the first attempt and 2 retries
    assert run.status == Status.FAILED and run.response_status == 500
    assert "answered 500" in run.error and "3 attempts" in run.error
    assert open_nodes(ticket) == ["run"]  # the ticket waits at the step, showing the error
    event = ticket.events.get(kind="automation_failed")
    assert event.data["error"] == run.error and event.data["on_failure"] == "wait"
    (mail,) = Delivery.objects.filter(event="automation_failed", ticket=ticket)
    assert mail.recipient == users.ops_frank and mail.payload["error"] == run.error

    system.reply(path, Reply(200, {"job": {"id": "D-8", "state": "done"}}))
    again = work(do_retry_automation(run, actor=users.ops_frank))

    assert again.attempt == 2 and again.status == Status.SUCCEEDED
    assert ticket.events.filter(kind="automation_retried", actor=users.ops_frank).exists()
    assert open_nodes(ticket) == ["review"]
    assert ticket.values["deploy_id"] == "D-8"


def test_a_client_error_is_not_retried(system, submit):
    ticket = submit(automation_service("deploy-400", deploy(system)))
    system.reply(f"/deploy/{ticket.sn}", Reply(400, {"error": "unknown version"}))

    run = work(run_of(ticket))

    assert len(system.seen) == 1
    assert run.status == Status.FAILED and "answered 400" in run.error
    assert "unknown version" in run.error


def test_a_server_slower_than_the_timeout_fails_the_step(system, submit):
    automation = deploy(system, retries=0)
    automation["request"]["timeout"] = "1s"
    ticket = submit(automation_service("deploy-slow", automation))
    system.reply(f"/deploy/{ticket.sn}", Reply(200, {"job": {"id": "late"}}, delay=2.5))

    run = work(run_of(ticket))

    assert run.status == Status.FAILED
    assert run.error == f"POST {system.url}/deploy/{ticket.sn} timed out after 1s (1 attempt)."
    assert open_nodes(ticket) == ["run"]


def test_a_missing_output_fails_the_step_naming_it(system, submit):
    ticket = submit(automation_service("deploy-odd", deploy(system)))
    system.reply(f"/deploy/{ticket.sn}", Reply(200, {"queued": True}))

    run = work(run_of(ticket))

    assert run.status == Status.FAILED
    assert run.error.startswith("Output 'deploy_id': The response has no 'job.id'")


def test_a_secret_missing_on_the_server_fails_the_step_naming_the_variable(
    system, submit, settings
):
    ticket = submit(automation_service("deploy-nosecret", deploy(system)))
    settings.FLOWDESK_SECRETS = {}

    run = work(run_of(ticket))

    assert run.status == Status.FAILED
    assert "FLOWDESK_SECRET_DEPLOY_TOKEN" in run.error
    assert system.seen == []  # nothing was sent


def test_on_failure_return_sends_the_ticket_back(system, submit, users):
    service = automation_service(
        "deploy-return", deploy(system, retries=0, on_failure="return", return_to="submit")
    )
    ticket = submit(service)
    system.reply(f"/deploy/{ticket.sn}", Reply(503, {}))

    work(run_of(ticket))

    assert open_nodes(ticket) == ["submit"]
    assert ticket.events.get(kind="automation_failed").data["to"] == "submit"
    assert ticket.tasks.get(node_id="run").outcome == "returned"
    # the operators are told even though the step closed
    assert Delivery.objects.filter(event="automation_failed", recipient=users.ops_frank).exists()


def test_a_host_outside_the_allowed_list_is_not_called(system, submit, settings):
    settings.FLOWDESK_AUTOMATION_ALLOWED_HOSTS = ["deploy.example.com"]
    ticket = submit(automation_service("deploy-host", deploy(system)))

    run = work(run_of(ticket))

    assert run.status == Status.FAILED
    assert "'127.0.0.1' is not in FLOWDESK_AUTOMATION_ALLOWED_HOSTS" in run.error
    assert system.seen == []


def test_the_step_is_queued_once_the_action_that_opens_it_commits(
    system, submit, django_capture_on_commit_callbacks
):
    service = automation_service("deploy-commit", deploy(system))
    with django_capture_on_commit_callbacks(execute=True):
        ticket = submit(service)
        assert not DBTaskResult.objects.exists()  # nothing is queued before the commit
    run = run_of(ticket)
    assert run.status == Status.RUNNING and system.seen == []
    (queued,) = DBTaskResult.objects.all()
    assert queued.task_path == "flowdesk.automation.tasks.run_automation"
    assert queued.args_kwargs["args"] == [run.pk]
    assert Task.objects.get(ticket=ticket, node_id="run").assignee is None


def test_a_secret_echoed_back_by_the_other_system_is_not_stored(system, submit):
    ticket = submit(automation_service("deploy-echo", deploy(system)))
    echo = {"error": "bad token", "you_sent": "Bearer tok-123"}
    system.reply(f"/deploy/{ticket.sn}", Reply(401, echo))

    run = work(run_of(ticket))

    assert run.status == Status.FAILED
    for text in (run.error, run.response_body, json.dumps(list(ticket.events.values("data")))):
        assert "tok-123" not in text
    assert "Bearer [secret DEPLOY_TOKEN]" in run.response_body
