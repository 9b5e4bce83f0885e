"""The catalog's submit form: generated fields, server-side errors, conditional fields."""

import pytest

from flowdesk.catalog.models import Service
from flowdesk.tickets.models import Ticket
from tests.factories import deploy_service

from .conftest import SUBMIT

pytestmark = pytest.mark.django_db

FORM = {"title": "Release server 2.4.1", "business": "game-a", **SUBMIT}


def test_submit_form_has_the_start_fields_with_hints(client_for, release_service):
    page = client_for("pm_alice").get("/catalog/app-release/").content.decode()
    assert 'type="url" name="package_url"' in page
    assert 'pattern="[0-9a-fA-F]{32}"' in page  # md5 hint
    assert 'type="datetime-local" name="planned_at"' in page
    assert 'maxlength="2000"' in page  # release scope
    assert "Where the automated release system fetches the package" in page  # help
    assert '<option value="game-a">Game A</option>' in page
    assert "game-b" not in page  # she may submit for Game A only


def test_submit_creates_the_ticket(client_for):
    response = client_for("pm_alice").post("/catalog/app-release/", FORM)
    ticket = Ticket.objects.get()
    assert response.headers["Location"] == f"/tickets/{ticket.sn}/"
    assert ticket.values["package_md5"] == SUBMIT["package_md5"]
    assert ticket.business.key == "game-a"
    assert ticket.events.get(kind="submitted").data["source"] == "web"


def test_datetime_is_read_in_the_users_time_zone(client_for):
    client = client_for("pm_alice")
    client.cookies["flowdesk_tz"] = "Asia/Shanghai"
    client.post("/catalog/app-release/", {**FORM, "planned_at": "2026-11-28T02:00"})
    assert Ticket.objects.get().values["planned_at"] == "2026-11-27T18:00:00Z"


def test_bad_values_are_shown_next_to_the_fields_and_nothing_is_saved(client_for):
    client = client_for("pm_alice")
    untitled = client.post("/catalog/app-release/", {**FORM, "title": ""})
    assert untitled.status_code == 422 and "Enter a title." in untitled.content.decode()
    bad = {**FORM, "package_url": "ftp:/nowhere", "package_md5": "xyz"}
    response = client.post("/catalog/app-release/", bad)
    assert response.status_code == 422
    page = response.content.decode()
    assert not Ticket.objects.exists()
    for field in ("package_url", "package_md5"):
        block = page.split(f'id="fd-field-{field}"')[1].split('id="fd-field-')[0]
        assert "invalid-feedback" in block, field
    assert "Enter a 32-character hexadecimal MD5 checksum." in page
    assert 'value="All game-a servers"' not in page  # textarea, kept as typed:
    assert "All game-a servers</textarea>" in page


def test_an_empty_post_shows_the_errors_instead_of_failing(client_for):
    response = client_for("pm_alice").post("/catalog/app-release/", {})
    assert response.status_code == 422  # as for any form with errors
    assert "invalid-feedback" in response.content.decode()
    assert not Ticket.objects.exists()


def test_invisible_service_is_not_found(client_for, release_service):
    release_service.visibility = Service.Visibility.ROLES
    release_service.save(update_fields=["visibility"])  # no roles: nobody but managers sees it
    assert client_for("pm_alice").get("/catalog/app-release/").status_code == 404


@pytest.fixture
def conditional_service(db):
    document = {
        "key": "access",
        "name": "Access request",
        "type": "request",
        "scope": "global",
        "fields": [
            {"key": "kind", "type": "select", "label": "Kind", "required": True,
             "options": ["vpn", "other"]},
            {"key": "detail", "type": "string", "label": "Detail",
             "visible_when": {"field": "kind", "op": "eq", "value": "other"},
             "required_when": {"field": "kind", "op": "eq", "value": "other"}},
        ],
        "nodes": [
            {"id": "start", "type": "start", "name": "Ask", "fields": ["kind", "detail"]},
            {"id": "end", "type": "end", "name": "Done"},
        ],
        "transitions": [{"from": "start", "to": "end"}],
    }  # fmt: skip
    return deploy_service(document)


def test_conditional_field_appears_with_its_condition(client_for, conditional_service):
    client = client_for("pm_alice")
    url = f"/catalog/{conditional_service.key}/"
    assert b'name="detail"' not in client.get(url).content
    partial = client.post(url + "form/", {"kind": "other"}, HTTP_HX_REQUEST="true")
    assert b'name="detail"' in partial.content and b"<html" not in partial.content
    assert b'required id="id_detail"' in partial.content
    assert b'name="detail"' not in client.post(url + "form/", {"kind": "vpn"}).content
    missing = client.post(url, {"title": "VPN for Bob", "kind": "other"})
    assert missing.status_code == 422 and b"This field is required." in missing.content
    assert not Ticket.objects.exists()
    client.post(url, {"title": "VPN for Bob", "kind": "vpn", "detail": "ignored"})
    assert Ticket.objects.get().values.get("detail") is None
