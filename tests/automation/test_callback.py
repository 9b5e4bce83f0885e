"""Waiting for a signed callback: the other system gets a callback URL, then reports the
outcome at POST /api/v1/callbacks/{token}/ with a body signed by the step's secret."""

import json
import shutil
import subprocess
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from flowdesk.automation import runner
from flowdesk.automation.models import AutomationRun
from flowdesk.automation.signing import callback_token, hash_token, sign
from flowdesk.tickets.actions import do_resume_ticket, do_suspend_ticket
from flowdesk.tickets.models import Event
from tests.api.conftest import problem
from tests.automation.conftest import SECRETS, Reply, automation_service, run_of, work

pytestmark = pytest.mark.django_db
Status = AutomationRun.Status
KEY = SECRETS["CALLBACK_KEY"]


@pytest.fixture
def waiting(system, submit):
    """A ticket whose step called the system and now waits; (ticket, run, callback path)."""
    service = automation_service(
        "deploy-callback",
        {
            "action": "http",
            "request": {
                "url": system.url + "/jobs",
                "body": {"version": "{{ values.version }}", "callback": "{{ callback_url }}"},
            },
            "wait": "callback",
            "callback": {"secret": "CALLBACK_KEY", "timeout": "1h"},
        },
    )
    system.reply("/jobs", Reply(202, {"accepted": True}))
    ticket = submit(service)
    run = work(run_of(ticket))
    sent = json.loads(system.seen[0].body)
    return ticket, run, urlsplit(sent["callback"]).path


def post(path: str, body: dict, secret: str | None = KEY, signature: str | None = None):
    raw = json.dumps(body).encode()
    headers = {}
    if signature or secret:
        headers["HTTP_X_FLOWDESK_SIGNATURE"] = signature or sign(secret, raw)
    return APIClient().post(path, raw, content_type="application/json", **headers)


def snapshot(ticket) -> tuple:
    ticket.refresh_from_db()
    runs = list(AutomationRun.objects.values_list("status", "pending", "error"))
    return ticket.state, Event.objects.filter(ticket=ticket).count(), runs


def test_the_call_gets_a_callback_url_whose_token_is_kept_only_as_a_hash(waiting):
    ticket, run, path = waiting
    assert run.status == Status.WAITING_CALLBACK
    assert run.deadline - timezone.now() > timedelta(minutes=59)
    token = path.rstrip("/").rsplit("/", 1)[1]
    assert path == f"/api/v1/callbacks/{token}/"
    assert run.callback_token_hash == hash_token(token)
    assert token not in json.dumps(run.request)
    assert run.request["body"]["callback"] == "[callback URL]"


def test_a_signed_success_completes_the_step_with_its_fields(waiting):
    ticket, run, path = waiting
    body = {"outcome": "success", "fields": {"deploy_id": "D-9", "note": "rolled out"}}

    response = post(path, body)

    assert response.status_code == 200, response.content
    assert response.json() == {"run": run.pk, "status": "succeeded"}
    run.refresh_from_db()
    ticket.refresh_from_db()
    assert run.status == Status.SUCCEEDED
    assert ticket.values["deploy_id"] == "D-9" and ticket.values["note"] == "rolled out"
    event = ticket.events.get(kind="automation_succeeded")
    assert event.data["source"] == "api" and event.actor is None
    assert ticket.tasks.get(node_id="review").status == "open"


def test_a_bad_or_missing_signature_is_refused_and_changes_nothing(waiting):
    ticket, _run, path = waiting
    body = {"outcome": "success", "fields": {"deploy_id": "forged"}}
    before = snapshot(ticket)

    for response in (
        post(path, body, secret="not-the-secret"),
        post(path, body, secret=None),
        post(path, body, signature="sha256=" + "0" * 64),
    ):
        assert "signature" in problem(response, 403, "forbidden")["detail"]
        assert snapshot(ticket) == before


def test_a_worker_that_runs_the_attempt_again_sends_the_same_callback_url(waiting, system):
    _ticket, run, path = waiting
    AutomationRun.objects.filter(pk=run.pk).update(status=Status.RUNNING)  # as if it crashed

    assert work(run).status == Status.WAITING_CALLBACK
    again = json.loads(system.seen[-1].body)["callback"]
    assert len(system.seen) == 2 and urlsplit(again).path == path


def test_a_used_token_and_an_unknown_one_are_not_found(waiting):
    _ticket, _run, path = waiting
    assert post(path, {"outcome": "success"}).status_code == 200

    problem(post(path, {"outcome": "success"}), 404, "not_found")  # replayed
    problem(post("/api/v1/callbacks/no-such-token/", {"outcome": "success"}), 404, "not_found")


def test_a_reported_failure_fails_the_step_with_its_message(waiting):
    ticket, run, path = waiting

    response = post(path, {"outcome": "failure", "message": "Rollout aborted: disk full"})

    assert response.json()["status"] == "failed"
    run.refresh_from_db()
    assert run.status == Status.FAILED and run.error == "Rollout aborted: disk full"
    assert ticket.events.get(kind="automation_failed").data["source"] == "api"


def test_fields_that_do_not_fit_are_refused_and_the_step_waits_on(waiting):
    ticket, run, path = waiting
    before = snapshot(ticket)

    response = post(path, {"outcome": "success", "fields": {"deploy_id": ["not", "text"]}})

    assert "deploy_id" in problem(response, 400, "invalid")["errors"]
    assert snapshot(ticket) == before
    assert post(path, {"outcome": "success", "fields": {"deploy_id": "D-1"}}).status_code == 200


def test_no_callback_before_the_deadline_fails_the_step(waiting):
    ticket, run, _path = waiting
    AutomationRun.objects.filter(pk=run.pk).update(deadline=timezone.now() - timedelta(seconds=1))

    assert runner.sweep() == 1

    run.refresh_from_db()
    assert run.status == Status.FAILED and run.error == "No callback came within 1h."


def test_a_callback_to_a_suspended_ticket_is_kept_and_applied_when_it_resumes(waiting, users):
    ticket, run, path = waiting
    do_suspend_ticket(ticket, actor=users.admin, reason="freeze")

    response = post(path, {"outcome": "success", "fields": {"deploy_id": "D-2"}})

    assert response.status_code == 202 and response.json()["status"] == "running"
    run.refresh_from_db()
    assert run.pending == {"outcome": "success", "values": {"deploy_id": "D-2"}}
    problem(post(path, {"outcome": "success"}), 404, "not_found")  # the token is used
    do_resume_ticket(ticket, actor=users.admin)
    AutomationRun.objects.filter(pk=run.pk).update(leased_until=timezone.now())
    runner.sweep()
    run.refresh_from_db()
    ticket.refresh_from_db()
    assert run.status == Status.SUCCEEDED and ticket.values["deploy_id"] == "D-2"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_the_shell_recipe_of_the_docs_signs_like_flowdesk():
    body = '{"outcome": "success", "fields": {"deploy_id": "D-7"}}'
    recipe = "printf '%s' \"$BODY\" | openssl dgst -sha256 -hmac \"$SECRET\" | sed 's/^.*= //'"
    hex_digest = subprocess.run(
        ["sh", "-c", recipe],
        env={"BODY": body, "SECRET": KEY, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert "sha256=" + hex_digest == sign(KEY, body.encode())


def test_a_callback_that_comes_before_the_call_returns_wins(system, submit):
    """A quick system may call back while Flowdesk still waits for its answer to the call."""
    ticket = submit(
        automation_service(
            "deploy-quick",
            {
                "action": "http",
                "request": {"url": system.url + "/jobs"},
                "wait": "callback",
                "callback": {"secret": "CALLBACK_KEY", "timeout": "1h"},
            },
        )
    )
    (calling,) = runner.claim([run_of(ticket).pk])
    token, token_hash = callback_token(calling.pk)  # the worker stores it before it calls
    AutomationRun.objects.filter(pk=calling.pk).update(callback_token_hash=token_hash)

    response = post(f"/api/v1/callbacks/{token}/", {"outcome": "success"})

    assert response.json()["status"] == "succeeded"
    with pytest.raises(runner.LeaseLost):  # the worker's call returns: it may not write
        runner.Lease(calling).release(status=Status.WAITING_CALLBACK)
    assert run_of(ticket).status == Status.SUCCEEDED
