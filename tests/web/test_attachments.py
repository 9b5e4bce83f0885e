"""Attachment and table fields on the web: the upload view and its chips, submitting with them,
who may download a file, and the table editor's errors."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from flowdesk.tickets import actions
from flowdesk.tickets.models import Attachment, Ticket
from tests.factories import deploy_service

pytestmark = pytest.mark.django_db

HOSTS = [{"host": "web-1", "cpus": "4"}, {"host": "web-2", "cpus": None}]


def evidence_workflow(key: str = "evidence") -> dict:
    """pm_alice (anyone) submits evidence files and a host table; test_bob reviews, and may
    add a report file. Shared by the API and browser tests."""
    return {
        "key": key,
        "name": "Evidence",
        "type": "change",
        "scope": "global",
        "fields": [
            {"key": "evidence", "type": "attachment", "label": "Evidence", "required": True,
             "max": 2},
            {"key": "hosts", "type": "table", "label": "Hosts", "columns": [
                {"key": "host", "type": "string", "label": "Host", "required": True},
                {"key": "cpus", "type": "integer", "label": "CPUs", "min": 1},
            ]},
            {"key": "report", "type": "attachment", "label": "Report"},
        ],
        "nodes": [
            {"id": "submit", "type": "start", "name": "Submit", "fields": ["evidence", "hosts"]},
            {"id": "review", "type": "task", "name": "Review", "fields": ["report"],
             "operators": [{"type": "users", "users": ["test_bob"]}]},
            {"id": "done", "type": "end"},
        ],
        "transitions": [{"from": "submit", "to": "review"}, {"from": "review", "to": "done"}],
    }  # fmt: skip


@pytest.fixture(autouse=True)
def service(demo):
    return deploy_service(evidence_workflow())


def upload(client, name: str = "notes.txt", content: bytes = b"all green", **extra):
    file = SimpleUploadedFile(name, content, content_type=extra.pop("content_type", "text/plain"))
    return client.post("/attachments/", {"file": file, "field": "evidence", **extra})


def uploaded(user, name: str = "notes.txt", content: bytes = b"all green", kind="text/plain"):
    file = SimpleUploadedFile(name, content, content_type=kind)
    return actions.do_upload_attachment(file, actor=user)


def form(evidence: list[str], hosts: list[dict] | str = HOSTS, **extra) -> dict:
    rows = hosts if isinstance(hosts, str) else json.dumps(hosts)
    return {"title": "Rollout", "evidence": evidence, "hosts": rows, **extra}


def test_upload_stores_the_file_and_answers_a_chip_with_its_id(client_for, users):
    response = upload(client_for("pm_alice"), content=b"x" * 2048)
    assert response.status_code == 201
    attachment = Attachment.objects.get()
    assert (attachment.name, attachment.size, attachment.uploaded_by) == (
        "notes.txt",
        2048,
        users.pm_alice,
    )
    assert response["Flowdesk-Attachment-Id"] == str(attachment.pk)
    chip = response.content.decode()
    assert f'<input type="hidden" name="evidence" value="{attachment.pk}">' in chip
    assert "notes.txt" in chip and "2.0\xa0KB" in chip and "data-fd-remove" in chip


def test_upload_needs_a_signed_in_user_a_post_and_a_file(client, client_for):
    assert upload(client).status_code == 302  # to the login page
    assert client_for("pm_alice").get("/attachments/").status_code == 405
    empty = client_for("pm_alice").post("/attachments/", {"field": "evidence"})
    assert empty.status_code == 400 and empty.content.decode() == "Choose a file."
    assert not Attachment.objects.exists()


def test_too_large_files_are_refused_with_the_limit(client_for, settings):
    settings.FLOWDESK_MAX_UPLOAD_BYTES = 2**20
    client = client_for("pm_alice")
    over = upload(client, content=b"x" * (2**20 + 1))
    assert over.status_code == 400 and over.content.decode() == "The file is larger than 1 MB."
    huge = upload(client, content=b"x" * (2**20 + 100_000))  # refused before it is read
    assert huge.status_code == 413 and huge.content.decode() == over.content.decode()
    assert not Attachment.objects.exists()


def test_submit_form_has_the_widgets(client_for):
    page = client_for("pm_alice").get("/catalog/evidence/").content.decode()
    assert "web/fields.js" in page
    assert "data-fd-upload multiple" in page and 'data-url="/attachments/"' in page
    assert 'x-data="fdTable(' in page and 'name="hosts"' in page
    config = page.split('id="id_hosts-config" type="application/json">')[1].split("</script>")[0]
    assert [c["key"] for c in json.loads(config)["columns"]] == ["host", "cpus"]


def test_submit_with_an_attachment_and_a_table(client_for, users):
    client = client_for("pm_alice")
    attachment_id = upload(client)["Flowdesk-Attachment-Id"]
    response = client.post("/catalog/evidence/", form([attachment_id]))
    ticket = Ticket.objects.get()
    assert response.headers["Location"] == f"/tickets/{ticket.sn}/"
    assert ticket.values["evidence"] == [attachment_id]
    assert ticket.values["hosts"] == [{"host": "web-1", "cpus": 4}, {"host": "web-2", "cpus": None}]
    page = client.get(f"/tickets/{ticket.sn}/").content.decode()
    snapshots = page.split("Entered at each step")[1].split("History")[0]
    assert f'href="/attachments/{attachment_id}/" download' in snapshots
    assert "notes.txt</a> <span" in snapshots and "(9\xa0bytes)" in snapshots
    assert '<table class="table table-sm table-bordered mb-0 fd-table-value">' in snapshots
    assert (
        '<th scope="col">Host</th>' in snapshots
        and '<td class="text-break">web-2</td>' in snapshots
    )


def test_table_errors_are_shown_next_to_the_table_and_nothing_is_saved(client_for):
    client = client_for("pm_alice")
    attachment_id = upload(client)["Flowdesk-Attachment-Id"]
    rows = [{"host": "web-1", "cpus": "2"}, {"host": "", "cpus": "8"}]
    response = client.post("/catalog/evidence/", form([attachment_id], rows))
    assert response.status_code == 422
    assert not Ticket.objects.exists()
    page = response.content.decode()
    block = page.split('id="fd-field-hosts"')[1].split('id="fd-field-')[0]
    assert "Row 2, column &#x27;host&#x27;: this column is required." in block
    config = json.loads(block.split('type="application/json">')[1].split("</script>")[0])
    assert config["rows"] == rows and config["errorRow"] == 2  # typed rows kept, row 2 marked
    chips = page.split('id="fd-field-evidence"')[1].split('id="fd-field-')[0]
    assert f'name="evidence" value="{attachment_id}"' in chips and "notes.txt" in chips


def test_too_many_files_and_bad_cells_are_refused(client_for):
    client = client_for("pm_alice")
    ids = [upload(client, f"{n}.txt")["Flowdesk-Attachment-Id"] for n in range(3)]
    response = client.post("/catalog/evidence/", form(ids, [{"host": "web-1", "cpus": "0"}]))
    assert response.status_code == 422 and not Ticket.objects.exists()
    page = response.content.decode()
    assert "Give at most 2 files." in page
    assert "Row 1, column &#x27;cpus&#x27;: Enter a number of at least 1." in page


def test_someone_elses_upload_cannot_be_submitted(client_for, users):
    other = uploaded(users.test_bob)
    response = client_for("pm_alice").post("/catalog/evidence/", form([str(other.pk)]))
    assert response.status_code == 422 and not Ticket.objects.exists()
    assert f"Unknown attachment &#x27;{other.pk}&#x27;." in response.content.decode()


@pytest.fixture
def ticket(service, users):
    evidence = uploaded(users.pm_alice, "发布说明.txt")
    return actions.do_submit_ticket(
        service, actor=users.pm_alice, title="Rollout", values={"evidence": [str(evidence.pk)]}
    )


def test_download_for_the_uploader_and_who_sees_the_ticket(client_for, ticket):
    (attachment_id,) = ticket.values["evidence"]
    for who in ("pm_alice", "test_bob", "admin"):
        response = client_for(who).get(f"/attachments/{attachment_id}/")
        assert response.status_code == 200, who
        assert b"".join(response.streaming_content) == b"all green"
        assert response["Content-Type"] == "text/plain; charset=utf-8"  # sniffed: UTF-8 text
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Disposition"] == (
            'attachment; filename="____.txt"; '
            "filename*=UTF-8''%E5%8F%91%E5%B8%83%E8%AF%B4%E6%98%8E.txt"
        )


def test_download_is_not_found_for_others(client, client_for, ticket, users):
    (attachment_id,) = ticket.values["evidence"]
    assert client_for("test_erin").get(f"/attachments/{attachment_id}/").status_code == 404
    unreferenced = uploaded(users.pm_alice)
    assert client_for("test_bob").get(f"/attachments/{unreferenced.pk}/").status_code == 404
    assert client_for("pm_alice").get(f"/attachments/{unreferenced.pk}/").status_code == 200
    missing = "00000000-0000-4000-8000-000000000000"
    assert client_for("admin").get(f"/attachments/{missing}/").status_code == 404
    assert client.get(f"/attachments/{attachment_id}/").status_code == 302  # to the login


def test_unsafe_types_download_as_text(client_for, users):
    """The type comes from the content: HTML is served as plain text, never as HTML."""
    page = uploaded(users.pm_alice, "x.html", b"<script>alert(1)</script>", "text/html")
    response = client_for("pm_alice").get(f"/attachments/{page.pk}/")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert (
        response["Content-Disposition"]
        == "attachment; filename=\"x.html\"; filename*=UTF-8''x.html"
    )


def test_task_form_uploads_and_keeps_earlier_files(client_for, ticket, users):
    client = client_for("test_bob")
    page = client.get(f"/tickets/{ticket.sn}/").content.decode()
    task = ticket.tasks.get()
    assert "web/fields.js" in page and f'id="fd-fields-{task.pk}"' in page
    report_id = upload(
        client, "report.pdf", b"%PDF-1.4", content_type="application/pdf", field="report"
    )
    report_id = report_id["Flowdesk-Attachment-Id"]
    done = client.post(f"/tickets/{ticket.sn}/tasks/{task.pk}/complete/", {"report": [report_id]})
    assert done.status_code == 302
    ticket.refresh_from_db()
    assert ticket.values["report"] == [report_id] and ticket.status == "finished"
    history = client.get(f"/tickets/{ticket.sn}/").content.decode().split('id="fd-timeline"')[1]
    assert f'href="/attachments/{report_id}/" download' in history  # the change old → new
    download = client_for("pm_alice").get(f"/attachments/{report_id}/")
    assert download["Content-Type"] == "application/pdf"  # pm_alice sees the ticket
