"""`flowdesk task approve|reject|complete --override-reason`: separation of duties on the CLI."""

import json

import pytest

from .fakes import RELEASE, SN, Server, problem, ticket
from .test_commands import flowdesk, page, task

REASON = "You handled 'Coordinate release resources' on this ticket, so you may not handle it."


def barred_task() -> dict:
    return {**task(RELEASE, ["transfer"]), "barred_reason": REASON}


def test_a_barred_task_says_why_and_posts_nothing(monkeypatch):
    server = Server(page(barred_task()))
    run = flowdesk(server, monkeypatch, "task", "complete", SN, "--field", "release_summary=x")
    assert run.code == 1
    assert REASON in run.err and "--override-reason" in run.err
    assert len(server.requests) == 1


@pytest.mark.parametrize("verb", ["approve", "reject", "complete"])
def test_the_override_reason_is_sent_in_the_body(monkeypatch, verb):
    server = Server(page(barred_task()), ticket("running"))
    run = flowdesk(server, monkeypatch, "task", verb, SN, "--override-reason", "only ops on duty")
    assert run.code == 0
    action = server.requests[1]
    assert action.url.path == f"/api/v1/tasks/7/{verb}/"
    assert json.loads(action.content) == {
        "fields": {},
        "comment": "",
        "override_reason": "only ops on duty",
    }


def test_without_the_flag_no_override_is_asked_for(monkeypatch):
    server = Server(page(task(RELEASE, ["complete"])), ticket("running"))
    flowdesk(server, monkeypatch, "task", "complete", SN)
    assert "override_reason" not in json.loads(server.requests[1].content)


def test_a_refused_override_reports_the_server_sentence(monkeypatch):
    server = Server(
        page(barred_task()),
        problem(403, "Only a Flowdesk admin may override separation of duties."),
    )
    run = flowdesk(server, monkeypatch, "task", "complete", SN, "--override-reason", "hurry")
    assert run.code == 1 and "Only a Flowdesk admin may override" in run.err
