"""`flowdesk ticket` and `flowdesk task` against a scripted server: what they send, what they
print, and the exit statuses they end with."""

import io
import json
import re
from dataclasses import dataclass

import httpx
import pytest
from django.core.management import CommandError, call_command

from flowdesk.client.command import ClientCommand

from .fakes import RELEASE, SN, TEST_CONFIRM, Server, problem, ticket

URL = "http://flowdesk.test"


@dataclass
class Run:
    code: int
    out: str
    err: str


def flowdesk(server: Server, monkeypatch, *args: str) -> Run:
    """Run a client command against the scripted server; a CommandError's message joins stderr
    as `flowdesk` prints it, and its returncode becomes the exit status."""
    monkeypatch.setattr(ClientCommand, "transport", server.transport)
    monkeypatch.setenv("FLOWDESK_URL", URL)
    monkeypatch.setenv("FLOWDESK_TOKEN", "fd_secret")
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
    except CommandError as exc:
        return Run(exc.returncode, out.getvalue(), err.getvalue() + f"CommandError: {exc}\n")
    return Run(0, out.getvalue(), err.getvalue())


def task(node: dict, actions: list[str], task_id: int = 7, sn: str = SN) -> dict:
    return {
        "id": task_id,
        "ticket": {"sn": sn, "title": "Release", "status": "running", "url": ""},
        "node": node["id"],
        "node_name": node["name"],
        "node_type": "task",
        "created_at": "2026-11-27T01:00:00Z",
        "actions": actions,
    }


def page(*tasks: dict, next_url: str | None = None) -> dict:
    return {"next": next_url, "previous": None, "results": list(tasks)}


def test_create_sends_the_fields_with_an_idempotency_key_and_prints_the_serial_number(
    monkeypatch, tmp_path
):
    (tmp_path / "scope.txt").write_text("east\n")
    server = Server(httpx.Response(201, json=ticket("running", TEST_CONFIRM)))
    run = flowdesk(
        server,
        monkeypatch,
        *["ticket", "create", "--service", "app-release", "--business", "game-a"],
        *["--title", "Release 2.4.1", "--field", "package_md5=9e107d9d372bb6826bd81d3542a419d6"],
        *["--field", f"release_scope=@{tmp_path / 'scope.txt'}", "--field", "count=3"],
    )
    assert run.out == f"{SN}\n"
    (request,) = server.requests
    assert (request.method, request.url.path) == ("POST", "/api/v1/tickets/")
    assert request.url.params["expand"] == "ticket"  # the whole ticket, as --output json shows
    assert len(request.headers["Idempotency-Key"]) == 36  # a fresh UUID: retries are safe
    assert json.loads(request.content) == {
        "service": "app-release",
        "business": "game-a",
        "title": "Release 2.4.1",
        "fields": {
            "package_md5": "9e107d9d372bb6826bd81d3542a419d6",
            "release_scope": "east\n",
            "count": 3,
        },
    }


def test_create_retries_a_503_with_the_same_idempotency_key(monkeypatch):
    monkeypatch.setattr("flowdesk.client.http.time.sleep", lambda s: None)
    server = Server(problem(503, "down"), httpx.Response(201, json=ticket()))
    run = flowdesk(
        server,
        monkeypatch,
        *["ticket", "create", "--service", "s", "--title", "t", "--idempotency-key", "run-41"],
    )
    assert run.out == f"{SN}\n"
    assert [r.headers["Idempotency-Key"] for r in server.requests] == ["run-41", "run-41"]
    assert "business" not in json.loads(server.requests[0].content)


def test_refused_input_prints_each_field_error_and_exits_1(monkeypatch):
    server = Server(
        problem(
            400,
            "Some values are not valid.",
            code="invalid",
            errors={"package_md5": ["Enter 32 hexadecimal digits."], "title": ["Required."]},
        )
    )
    run = flowdesk(server, monkeypatch, "ticket", "create", "--service", "s", "--title", " ")
    assert run.code == 1 and run.out == ""
    assert run.err.splitlines() == [
        "package_md5: Enter 32 hexadecimal digits.",
        "title: Required.",
        "CommandError: Some values are not valid.",
    ]


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({"FLOWDESK_TOKEN": "x"}, [], "set FLOWDESK_URL"),
        ({"FLOWDESK_TOKEN": "x"}, ["--url", "flowdesk.example.com"], "set FLOWDESK_URL"),
        ({"FLOWDESK_URL": URL}, [], "set FLOWDESK_TOKEN"),
    ],
)
def test_missing_server_or_token_is_a_usage_error(monkeypatch, env, args, message):
    for name in ("FLOWDESK_URL", "FLOWDESK_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(CommandError, match=message) as caught:
        call_command("ticket", "show", SN, *args)
    assert caught.value.returncode == 2


def test_show_as_json_prints_only_the_ticket(monkeypatch):
    server = Server(ticket("running", TEST_CONFIRM))
    run = flowdesk(server, monkeypatch, "ticket", "show", SN, "--output", "json")
    assert json.loads(run.out)["current_nodes"] == [TEST_CONFIRM]


def test_wait_as_json_keeps_stdout_for_the_ticket_and_exits_3_when_rejected(monkeypatch):
    server = Server(
        ticket("running", TEST_CONFIRM),
        ticket("terminated", end_reason="rejected at coordinate"),
    )
    run = flowdesk(
        server, monkeypatch, "ticket", "wait", SN, "--interval", "1ms", "--output", "json"
    )
    assert run.code == 3
    assert json.loads(run.out)["status"] == "terminated"
    assert f"{SN} running – waiting at Test confirmation" in run.err
    assert f"stopped: {SN} terminated (rejected at coordinate)" in run.err


def test_wait_times_out_with_exit_4(monkeypatch):
    server = Server(ticket("running", TEST_CONFIRM))
    run = flowdesk(
        server,
        monkeypatch,
        *["ticket", "wait", SN, "--until-node", "release", "--timeout", "20ms"],
        *["--interval", "5ms"],
    )
    assert run.code == 4
    assert f"timed out after 20ms waiting for {SN} to reach release" in run.err


def test_create_with_until_node_prints_the_number_then_waits(monkeypatch):
    server = Server(
        httpx.Response(201, json=ticket("running", TEST_CONFIRM)),
        ticket("running", RELEASE),
    )
    run = flowdesk(
        server,
        monkeypatch,
        *["ticket", "create", "--service", "s", "--title", "t", "--until-node", "release"],
    )
    assert run.code == 0
    number, progress = run.out.splitlines()
    assert number == SN and progress.startswith(f"{SN} running – waiting at Release (release) – ")


def test_task_list_follows_every_page_on_the_configured_server(monkeypatch):
    # The next link names the backend's own host, as behind a proxy: the client stays on URL.
    server = Server(
        page(task(TEST_CONFIRM, ["complete"]), next_url="http://backend:8000/api/v1/tasks/?c=2"),
        page(task(RELEASE, ["complete"], task_id=9, sn="CRQ20261127000002")),
    )
    run = flowdesk(server, monkeypatch, "task", "list")
    assert run.out.splitlines() == [
        f"{SN}  Test confirmation (test_confirm) – complete  Release",
        "CRQ20261127000002  Release (release) – complete  Release",
    ]
    assert [str(r.url) for r in server.requests] == [
        f"{URL}/api/v1/tasks/?todo=1",
        f"{URL}/api/v1/tasks/?c=2",
    ]


def test_task_complete_posts_to_the_callers_task_at_the_node(monkeypatch):
    server = Server(
        page(task(TEST_CONFIRM, ["complete"], task_id=7), task(RELEASE, ["complete"], task_id=9)),
        ticket("running", {"id": "qc_review", "name": "QC evaluation"}),
    )
    run = flowdesk(
        server,
        monkeypatch,
        *["task", "complete", SN, "--node", "release", "--field", "release_summary=Done"],
        *["--comment", "at 02:00"],
    )
    assert run.out == f"completed release: {SN} running – waiting at QC evaluation (qc_review)\n"
    listing, action = server.requests
    assert listing.url.params["ticket"] == SN and listing.url.params["todo"] == "1"
    assert (action.method, action.url.path) == ("POST", "/api/v1/tasks/9/complete/")
    assert action.url.params["expand"] == "ticket"
    assert json.loads(action.content) == {
        "fields": {"release_summary": "Done"},
        "comment": "at 02:00",
    }


@pytest.mark.parametrize(
    ("tasks", "args", "message"),
    [
        ([], [], f"no open task on {SN}"),
        ([task(TEST_CONFIRM, ["complete"])], ["--node", "release"], "yours there: Test conf"),
        (
            [task(TEST_CONFIRM, ["complete"]), task(RELEASE, ["complete"], task_id=9)],
            [],
            r"several open tasks .*Test confirmation.*Release \(release\).*--node",
        ),
        ([task(RELEASE, ["approve", "reject"])], [], r"cannot complete Release \(release\)"),
    ],
)
def test_task_action_names_the_candidates_when_the_task_is_unclear(
    monkeypatch, tasks, args, message
):
    server = Server(page(*tasks))
    run = flowdesk(server, monkeypatch, "task", "complete", SN, *args)
    assert run.code == 1 and re.search(message, run.err)
    assert len(server.requests) == 1  # nothing was posted


def test_a_task_already_handled_reports_the_conflict(monkeypatch):
    server = Server(
        page(task(RELEASE, ["approve", "reject"])),
        problem(409, "This task was already handled by ops_carol at 2026-11-27 02:00."),
    )
    run = flowdesk(server, monkeypatch, "task", "approve", SN)
    assert run.code == 1 and "already handled by ops_carol" in run.err


def test_an_answer_that_is_not_the_api_names_the_url(monkeypatch):
    # A wrong FLOWDESK_URL path: some other web server's HTML 404 page.
    server = Server(httpx.Response(404, html="<h1>Not Found</h1>"))
    run = flowdesk(server, monkeypatch, "ticket", "show", SN)
    assert run.code == 1
    assert f"404 Not Found from GET {URL}/api/v1/tickets/{SN}/" in run.err
