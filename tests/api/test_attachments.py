"""`/api/v1/attachments/`: upload, reference from a ticket, read back – and who may."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from flowdesk.tickets.models import Attachment, Ticket
from tests.factories import deploy_service
from tests.web.test_attachments import evidence_workflow

from .conftest import problem

pytestmark = pytest.mark.django_db

CONTENT = "检查通过\n".encode()


@pytest.fixture(autouse=True)
def service(demo):
    return deploy_service(evidence_workflow())


def upload(client, name: str = "结果.txt", content: bytes = CONTENT, kind: str = "text/plain"):
    file = SimpleUploadedFile(name, content, content_type=kind)
    return client.post("/api/v1/attachments/", {"file": file}, format="multipart")


def test_upload_answers_the_files_metadata(clients, users):
    response = upload(clients.pm_alice)
    assert response.status_code == 201, response.content
    body = response.json()
    attachment = Attachment.objects.get()
    assert body == {
        "id": str(attachment.pk),
        "name": "结果.txt",
        "size": len(CONTENT),
        "sha256": hashlib.sha256(CONTENT).hexdigest(),
        "content_type": "text/plain",
        "url": f"http://testserver/api/v1/attachments/{attachment.pk}/download/",
    }
    assert response["Location"] == body["url"]
    assert attachment.uploaded_by == users.pm_alice


def test_upload_refusals_store_nothing(clients, settings):
    body = problem(
        clients.pm_alice.post("/api/v1/attachments/", {}, format="multipart"), 400, "invalid"
    )
    assert body["errors"] == {"file": ["Send the file as the multipart part 'file'."]}
    as_json = clients.pm_alice.post("/api/v1/attachments/", {"file": "x"}, format="json")
    problem(as_json, 415, "unsupported_media_type")
    settings.FLOWDESK_MAX_UPLOAD_BYTES = 2**20
    over = problem(upload(clients.pm_alice, content=b"x" * (2**20 + 1)), 400, "invalid")
    assert over["errors"] == {"file": ["The file is larger than 1 MB."]}
    huge = problem(upload(clients.pm_alice, content=b"x" * (2**20 + 100_000)), 413, "too_large")
    assert huge["detail"] == "The file is larger than 1 MB."
    assert not Attachment.objects.exists()


def submit_with(clients, attachment_id: str):
    return clients.pm_alice.post(
        "/api/v1/tickets/?expand=ticket",
        {
            "service": "evidence",
            "title": "Rollout",
            "fields": {"evidence": [attachment_id], "hosts": [{"host": "web-1", "cpus": 2}]},
        },
    )


def test_a_ticket_references_the_upload_and_its_readers_may_download_it(clients):
    attachment_id = upload(clients.pm_alice).json()["id"]
    created = submit_with(clients, attachment_id)
    assert created.status_code == 201, created.content
    assert created.json()["fields"]["evidence"] == [attachment_id]
    for who in ("pm_alice", "test_bob"):  # the uploader, a handler of the ticket
        client = getattr(clients, who)
        meta = client.get(f"/api/v1/attachments/{attachment_id}/")
        assert meta.status_code == 200 and meta.json()["name"] == "结果.txt"
        download = client.get(f"/api/v1/attachments/{attachment_id}/download/")
        assert download.status_code == 200, who
        assert b"".join(download.streaming_content) == CONTENT
        assert download["Content-Type"] == "text/plain; charset=utf-8"  # sniffed: UTF-8 text
        assert download["X-Content-Type-Options"] == "nosniff"
        assert download["Content-Disposition"] == (
            "attachment; filename=\"__.txt\"; filename*=UTF-8''%E7%BB%93%E6%9E%9C.txt"
        )
    accept_pdf = clients.test_bob.get(
        f"/api/v1/attachments/{attachment_id}/download/", HTTP_ACCEPT="application/pdf"
    )
    assert accept_pdf.status_code == 200  # any Accept gets the file


def test_others_get_not_found(clients):
    attachment_id = upload(clients.pm_alice).json()["id"]
    for path in (f"{attachment_id}/", f"{attachment_id}/download/"):
        problem(clients.test_bob.get(f"/api/v1/attachments/{path}"), 404, "not_found")
    submit_with(clients, attachment_id)
    for path in (f"{attachment_id}/", f"{attachment_id}/download/"):
        problem(clients.test_erin.get(f"/api/v1/attachments/{path}"), 404, "not_found")
    download = f"/api/v1/attachments/{attachment_id}/download/"
    problem(clients.test_erin.get(download, HTTP_ACCEPT="image/png"), 404, "not_found")
    problem(clients.admin.get("/api/v1/attachments/" + "-" * 32 + "/"), 404, "not_found")


def test_a_file_of_someone_else_cannot_be_referenced(clients):
    attachment_id = upload(clients.test_bob).json()["id"]
    body = problem(submit_with(clients, attachment_id), 400, "invalid")
    assert body["errors"] == {"evidence": [f"Unknown attachment '{attachment_id}'."]}
    assert not Ticket.objects.exists()


def test_the_schema_documents_the_endpoints(anonymous):
    schema = anonymous.get("/api/schema/", {"format": "json"}).json()
    create = schema["paths"]["/api/v1/attachments/"]["post"]
    assert list(create["requestBody"]["content"]) == ["multipart/form-data"]
    assert {"201", "413"} <= set(create["responses"])
    download = schema["paths"]["/api/v1/attachments/{id}/download/"]["get"]["responses"]["200"]
    assert list(download["content"]) == ["application/octet-stream"]
