"""`--attach FIELD=PATH`: the client uploads the file, then names its id in the field."""

import json

import httpx
import pytest

from flowdesk.tickets.models import Attachment, Ticket
from tests.factories import deploy_service
from tests.web.test_attachments import evidence_workflow

from .fakes import RELEASE, SN, Server, ticket
from .test_commands import flowdesk, page, task
from .test_live_scenario import cli, ok  # noqa: F401 (the live server fixture)

ID_1, ID_2 = "3f0c1b9e-0000-4000-8000-000000000001", "3f0c1b9e-0000-4000-8000-000000000002"


def stored(attachment_id: str) -> httpx.Response:
    return httpx.Response(201, json={"id": attachment_id, "name": "x", "size": 1})


def upload_part(request: httpx.Request) -> bytes:
    """The multipart body's file part as sent."""
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    return request.content


def test_create_uploads_each_file_then_lists_the_ids(monkeypatch, tmp_path):
    (tmp_path / "notes.txt").write_bytes(b"all green")
    (tmp_path / "log.txt").write_bytes(b"no errors")
    server = Server(stored(ID_1), stored(ID_2), httpx.Response(201, json=ticket("running")))
    run = flowdesk(
        server,
        monkeypatch,
        *["ticket", "create", "--service", "evidence", "--title", "Rollout"],
        *["--attach", f"evidence={tmp_path / 'notes.txt'}"],
        *["--attach", f"evidence={tmp_path / 'log.txt'}", "--field", 'hosts=[{"host": "a"}]'],
    )
    assert run.code == 0 and run.out == f"{SN}\n"
    first, second, create = server.requests
    assert [(r.method, r.url.path) for r in (first, second)] == [
        ("POST", "/api/v1/attachments/"),
        ("POST", "/api/v1/attachments/"),
    ]
    assert b'name="file"; filename="notes.txt"' in upload_part(first)
    assert b"all green" in upload_part(first) and b"no errors" in upload_part(second)
    assert json.loads(create.content)["fields"] == {
        "hosts": [{"host": "a"}],
        "evidence": [ID_1, ID_2],
    }


def test_a_missing_file_is_a_usage_error_and_nothing_is_sent(monkeypatch, tmp_path):
    server = Server(httpx.Response(500))
    run = flowdesk(
        server,
        monkeypatch,
        *["ticket", "create", "--service", "evidence", "--title", "Rollout"],
        *["--attach", f"evidence={tmp_path / 'missing.txt'}"],
    )
    # argparse's usage error (exit status 2 from the shell: see the live test)
    assert "argument --attach: cannot read" in run.err and "missing.txt: no such file" in run.err
    assert server.requests == []


def test_task_complete_attaches_to_the_step(monkeypatch, tmp_path):
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4")
    done = ticket("finished")
    server = Server(page(task(RELEASE, ["complete"])), stored(ID_1), done)
    run = flowdesk(
        server,
        monkeypatch,
        *["task", "complete", SN, "--attach", f"report={tmp_path / 'report.pdf'}"],
    )
    assert run.code == 0, run.err
    todo, upload, act = server.requests
    assert upload.url.path == "/api/v1/attachments/" and act.url.path == "/api/v1/tasks/7/complete/"
    assert json.loads(act.content)["fields"] == {"report": [ID_1]}


@pytest.mark.django_db(transaction=True)
def test_attach_against_a_live_server(cli, tmp_path):  # noqa: F811
    deploy_service(evidence_workflow())
    (tmp_path / "evidence.txt").write_bytes(b"checked by CI")
    sn = ok(
        cli(
            "pm_alice",
            *["ticket", "create", "--service", "evidence", "--title", "Rollout"],
            *["--attach", f"evidence={tmp_path / 'evidence.txt'}"],
            *["--field", 'hosts=[{"host": "web-1", "cpus": 2}]'],
        )
    ).strip()
    missing = cli("pm_alice", "task", "complete", sn, "--attach", "report=nowhere.pdf")
    assert missing.returncode == 2 and "cannot read nowhere.pdf" in missing.stderr
    (attachment,) = Attachment.objects.all()
    assert Ticket.objects.get(sn=sn).values["evidence"] == [str(attachment.pk)]
    assert (attachment.name, attachment.file.read()) == ("evidence.txt", b"checked by CI")
