"""Hostile input through the web forms and the API: XSS, SQL metacharacters, overlong values,
wrong JSON types and Unicode edge cases, in every field type of the workflow format, titles,
comments, reasons, file names, and directory and service names.

Whatever is sent, the answer is never a server error; a value is either refused with a
sentence or stored as sent and rendered escaped on every page that shows it – and a url field
is never a clickable `javascript:` link.
"""

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from flowdesk.api.actions import do_create_token
from flowdesk.catalog.actions import do_save_directory
from flowdesk.engine.fields import FIELD_TYPES
from flowdesk.security.files import unsafe_file_name
from flowdesk.tickets.actions import do_comment_ticket, do_upload_attachment
from flowdesk.tickets.models import Attachment, Ticket
from flowdesk.workflows.models import Workflow
from tests.factories import deploy_service, global_workflow

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
XSS = [SCRIPT, IMG, "<svg/onload=alert(1)>", "{{ 7*7 }}{% debug %}"]
# What must never reach a page unescaped (the payloads' active parts). Template syntax is
# shown as typed: user text is never rendered as a template.
ACTIVE = ["<script>alert(1)", "<img src=x onerror", "<svg/onload"]
SQL = ["' OR '1'='1' --", "Robert'); DROP TABLE tickets_ticket;--", "%_\\'\";"]
UNICODE = [
    "\u202etxt.exe",  # right-to-left override
    "a\u200bb\u200dc\ufeff",  # zero-width space, joiner, BOM
    "🚀🧪 release",  # 4-byte characters
    "e\u0301\u0308\u0323 combining",
    "ﷺ مرحبا",
]
UNSTORABLE = ["a\x00b", "lone \ud800 surrogate"]
LONG = "x" * 20_000
JAVASCRIPT_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
]
CLICKABLE_SCRIPT = re.compile(
    r"""(href|src|action)\s*=\s*["']?\s*(javascript|data|vbscript):""", re.I
)

FIELDS = [
    {"key": "f_string", "type": "string", "label": f"String {SCRIPT}"},
    {"key": "f_text", "type": "text", "label": "Text"},
    {"key": "f_integer", "type": "integer", "label": "Integer"},
    {"key": "f_decimal", "type": "decimal", "label": "Decimal"},
    {"key": "f_boolean", "type": "boolean", "label": "Boolean"},
    {
        "key": "f_select",
        "type": "select",
        "label": "Select",
        "options": [{"value": "a", "label": IMG}, {"value": "<b>", "label": "b"}],
    },
    {"key": "f_multiselect", "type": "multiselect", "label": "Multi", "options": ["a", IMG]},
    {"key": "f_date", "type": "date", "label": "Date"},
    {"key": "f_datetime", "type": "datetime", "label": "Date-time"},
    {"key": "f_url", "type": "url", "label": "URL"},
    {"key": "f_email", "type": "email", "label": "E-mail"},
    {"key": "f_member", "type": "member", "label": "Member"},
    {"key": "f_members", "type": "members", "label": "Members"},
    {"key": "f_checksum", "type": "checksum", "label": "MD5", "algorithm": "md5"},
    {"key": "f_attachment", "type": "attachment", "label": "Files"},
    {
        "key": "f_table",
        "type": "table",
        "label": "Table",
        "columns": [
            {"key": "name", "type": "string", "label": f"Name' + alert(1) + '{IMG}"},
            {"key": "link", "type": "url", "label": "Link"},
        ],
    },
]
TEXT_FIELDS = ["f_string", "f_text"]
GOOD = {
    "f_integer": 7,
    "f_decimal": "1.50",
    "f_boolean": True,
    "f_select": "<b>",
    "f_multiselect": ["a", IMG],
    "f_date": "2026-11-28",
    "f_datetime": "2026-11-28T02:00:00Z",
    "f_url": "https://example.com/a?q=%22%3E%3Cscript%3E&x=<b>",
    "f_email": "ops@example.com",
    "f_member": "test_bob",
    "f_members": ["test_bob", "ops_carol"],
    "f_checksum": "9e107d9d372bb6826bd81d3542a419d6",
    "f_table": [{"name": SCRIPT, "link": "https://example.com/x"}],
}
# Wrong JSON types for each field type (a string that parses, e.g. "7" for integer, is fine).
WRONG_TYPES = [{"a": 1}, [[1]], 1e308, -(2**70), True, "", "not a value", [None]]


def test_the_hostile_workflow_has_every_field_type():
    assert {field["type"] for field in FIELDS} == FIELD_TYPES


# submit → a step with a hostile name, handled by test_bob → done
REVIEW = {
    "nodes": [
        {
            "id": "review",
            "type": "task",
            "name": f"Review {SCRIPT}",
            "operators": [{"type": "users", "users": ["test_bob"]}],
        }
    ],
    "transitions": [{"from": "submit", "to": "review"}, {"from": "review", "to": "done"}],
}


@pytest.fixture
def hostile(demo, users):
    """A service on a workflow with one field of each type, and hostile names and labels."""
    directory = do_save_directory("hostile-dir", name=f"Dir {IMG}", actor=users.admin)
    document = global_workflow(
        "hostile",
        **REVIEW,
        start_fields=[field["key"] for field in FIELDS],
        fields=FIELDS,
        name=f"Hostile {IMG}",
    )
    return deploy_service(document, directory=directory)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_for(user) -> APIClient:
    _token, raw = do_create_token(user, actor=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


def pages_of(ticket: Ticket) -> list[str]:
    sn, key = ticket.sn, ticket.service.key
    return [
        "/",
        "/?scope=mine",
        "/changes/",
        f"/tickets/{sn}/",
        f"/tickets/{sn}/print/",
        f"/audit/tickets/{sn}/report/",
        "/audit/",
        "/catalog/",
        f"/catalog/{key}/",
        "/manage/services/",
        f"/manage/services/{key}/",
        "/manage/catalog/",
        f"/designer/{key}/",
    ]


def assert_rendered_safely(users, ticket: Ticket) -> None:
    """Every page that shows the ticket, its service or its workflow, for the requester, the
    handler and the admin: 200, no payload unescaped, no script link."""
    for user in (users.admin, ticket.requester, users.test_bob):
        client = client_for(user)
        for path in pages_of(ticket):
            response = client.get(path)
            if response.status_code in {302, 403, 404} and user != users.admin:
                continue  # not this user's page; the admin sees them all
            assert response.status_code == 200, (user, path)
            assert_escaped(response.content.decode(), user, path)


def assert_escaped(html: str, *where: object) -> None:
    """No payload's active part and no script link in `html`; `where` names the page."""
    for active in ACTIVE:
        assert active not in html, (*where, active)
    assert not CLICKABLE_SCRIPT.search(html), where


def api_submit(client, service, title: object, fields: dict):
    body = {"service": service.key, "title": title, "fields": fields}
    # json.dumps escapes lone surrogates (\ud800), as a hostile client would send them.
    return client.post("/api/v1/tickets/", json.dumps(body), content_type="application/json")


def web_submit(client: Client, service, title: str, fields: dict):
    data = {"title": title}
    for key, value in fields.items():
        data[key] = json.dumps(value) if key == "f_table" else value
    return client.post(f"/catalog/{service.key}/", data)


# --- text payloads in titles and every field type -------------------------------------------------


@pytest.mark.parametrize("payload", XSS + SQL + UNICODE)
def test_api_stores_payloads_as_sent_and_pages_escape_them(hostile, users, payload):
    fields = {**GOOD, **dict.fromkeys(TEXT_FIELDS, payload)}
    response = api_submit(api_for(users.pm_alice), hostile, payload, fields)
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(sn=response.json()["sn"])
    assert ticket.title == payload.strip() and ticket.values["f_text"] == payload
    assert ticket.values["f_table"][0]["name"] == SCRIPT
    assert_rendered_safely(users, ticket)


@pytest.mark.parametrize("payload", XSS + SQL + UNICODE)
def test_web_form_stores_payloads_as_sent_and_pages_escape_them(hostile, users, payload):
    response = web_submit(client_for(users.pm_alice), hostile, payload, {**GOOD, "f_text": payload})
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket = Ticket.objects.get()
    assert ticket.values["f_text"] == payload and ticket.values["f_boolean"] is True
    assert_rendered_safely(users, ticket)


@pytest.mark.parametrize("payload", UNSTORABLE)
def test_nul_and_lone_surrogates_are_refused_by_the_api(hostile, users, payload):
    client = api_for(users.pm_alice)
    for title, fields in [(payload, GOOD), ("ok", {**GOOD, "f_text": payload})]:
        response = api_submit(client, hostile, title, fields)
        assert response.status_code == 400, response.content
        assert "NUL" in response.json()["detail"]
    assert not Ticket.objects.exists()


def test_nul_is_refused_by_the_web_form(hostile, users):
    response = web_submit(client_for(users.pm_alice), hostile, "a\x00b", GOOD)
    assert response.status_code == 422
    assert not Ticket.objects.exists()


def test_undecodable_form_bytes_are_no_server_error(hostile, users):
    body = b"title=%ED%A0%80&f_text=%FF%FE"  # an encoded lone surrogate, invalid UTF-8
    response = client_for(users.pm_alice).post(
        f"/catalog/{hostile.key}/", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code in {302, 422}
    for ticket in Ticket.objects.all():
        assert_rendered_safely(users, ticket)


def test_overlong_values_are_refused_or_stored_never_a_server_error(hostile, users):
    api = api_for(users.pm_alice)
    too_long_title = api_submit(api, hostile, LONG, GOOD)
    assert too_long_title.status_code == 400 and "title" in too_long_title.json()["errors"]
    web = web_submit(client_for(users.pm_alice), hostile, LONG, GOOD)
    assert web.status_code == 422
    assert not Ticket.objects.exists()
    for key in TEXT_FIELDS + ["f_url", "f_email", "f_member", "f_checksum", "f_decimal"]:
        response = api_submit(api, hostile, "long", {**GOOD, key: LONG})
        assert response.status_code in {201, 400}, (key, response.content)
        if response.status_code == 400:
            assert response.json()["errors"][key], key
    assert api_submit(api, hostile, "big", {**GOOD, "f_integer": 10**400}).status_code in {
        201,
        400,
    }
    huge = json.dumps({"service": hostile.key, "title": "huge", "fields": {}})
    huge = huge.replace('"fields": {}', '"fields": {"f_integer": ' + "9" * 5000 + "}")
    response = api.post("/api/v1/tickets/", huge, content_type="application/json")
    assert response.status_code == 400  # past Python's int-parsing limit: refused, not a 500


# --- wrong JSON types -----------------------------------------------------------------------------


@pytest.mark.parametrize("field", FIELDS, ids=lambda field: field["type"])
def test_wrong_json_types_are_refused_per_field(hostile, users, field):
    api = api_for(users.pm_alice)
    key = field["key"]
    for wrong in WRONG_TYPES:
        response = api_submit(api, hostile, "typed", {**GOOD, key: wrong})
        assert response.status_code in {201, 400}, (key, wrong, response.content)
        if response.status_code == 400:
            body = response.json()
            assert body["errors"].get(key) or body["detail"], (key, wrong)
        else:  # accepted only as "empty" (not filled in) – never stored as the wrong type
            stored = Ticket.objects.get(sn=response.json()["sn"]).values.get(key)
            assert stored is None or not isinstance(stored, dict), (key, wrong, stored)
    assert api_submit(api, hostile, "typed", {**GOOD, key: {"$ne": 1}}).status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        [],
        "a string",
        1,
        {"service": ["hostile"]},
        {"service": "hostile", "title": {"x": 1}},
        {"service": "hostile", "title": "t", "fields": []},
        {"service": "hostile", "fields": "x"},
    ],
)
def test_wrong_types_at_the_top_level_are_refused(hostile, users, body):
    response = api_for(users.pm_alice).post("/api/v1/tickets/", body, format="json")
    assert response.status_code == 400, response.content
    assert not Ticket.objects.exists()


# --- url fields -----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", JAVASCRIPT_URLS)
def test_script_urls_are_refused_in_url_fields_and_table_columns(hostile, users, url):
    api, web = api_for(users.pm_alice), client_for(users.pm_alice)
    response = api_submit(api, hostile, "url", {**GOOD, "f_url": url})
    assert response.status_code == 400 and response.json()["errors"]["f_url"]
    row = [{"name": "x", "link": url}]
    assert api_submit(api, hostile, "url", {**GOOD, "f_table": row}).status_code == 400
    assert web_submit(web, hostile, "url", {**GOOD, "f_url": url}).status_code == 422
    assert not Ticket.objects.exists()


def test_an_accepted_url_renders_as_an_escaped_http_link(hostile, users):
    url = 'https://example.com/"onmouseover="alert(1)'
    response = api_submit(api_for(users.pm_alice), hostile, "url", {**GOOD, "f_url": url})
    if response.status_code == 400:  # refused outright is just as safe
        return
    ticket = Ticket.objects.get()
    html = client_for(users.pm_alice).get(f"/tickets/{ticket.sn}/").content.decode()
    assert '"onmouseover="alert(1)' not in html
    assert_rendered_safely(users, ticket)


# --- comments and reasons -------------------------------------------------------------------------


def submitted(hostile, users) -> Ticket:
    response = api_submit(api_for(users.pm_alice), hostile, "Release", GOOD)
    assert response.status_code == 201, response.content
    return Ticket.objects.get(sn=response.json()["sn"])


@pytest.mark.parametrize("payload", [SCRIPT, IMG, SQL[1], UNICODE[0], UNICODE[2]])
def test_comments_and_reasons_through_the_api_are_escaped(hostile, users, payload):
    ticket = submitted(hostile, users)
    api = api_for(users.pm_alice)
    assert api.post(f"/api/v1/tickets/{ticket.sn}/comment/", {"text": payload}).status_code < 300
    assert api.post(f"/api/v1/tickets/{ticket.sn}/urge/", {"comment": payload}).status_code < 300
    response = api.post(f"/api/v1/tickets/{ticket.sn}/withdraw/", {"reason": payload})
    assert response.status_code < 300, response.content
    ticket.refresh_from_db()
    assert ticket.status == "withdrawn"
    assert_rendered_safely(users, ticket)


@pytest.mark.parametrize("payload", [SCRIPT, IMG, SQL[0], UNICODE[1]])
def test_comments_and_reasons_through_the_web_are_escaped(hostile, users, payload):
    ticket = submitted(hostile, users)
    web = client_for(users.pm_alice)
    for action in ("comment", "withdraw"):
        response = web.post(f"/tickets/{ticket.sn}/do/{action}/", {"comment": payload})
        assert response.status_code in {200, 302}, (action, response.status_code)
    ticket.refresh_from_db()
    assert ticket.status == "withdrawn"
    assert_rendered_safely(users, ticket)


@pytest.mark.parametrize("text", UNSTORABLE + [{"a": 1}, ["x"], None, LONG * 10])
def test_odd_comments_are_refused_or_stored_never_a_server_error(hostile, users, text):
    ticket = submitted(hostile, users)
    response = api_for(users.pm_alice).post(
        f"/api/v1/tickets/{ticket.sn}/comment/",
        json.dumps({"text": text}),
        content_type="application/json",
    )
    assert response.status_code in {200, 201, 400}, response.content
    assert_rendered_safely(users, ticket)


# --- file names -----------------------------------------------------------------------------------


FILE_NAMES = [
    f"{IMG}.txt",
    f"{SCRIPT}.pdf",
    "report\u202efdp.exe",
    "..\\..\\win.ini",
    "a\u200b.txt",
]


@pytest.mark.parametrize("name", FILE_NAMES)
def test_hostile_file_names_through_web_and_api(hostile, users, name):
    web = client_for(users.pm_alice)
    upload = SimpleUploadedFile(name, b"all green", content_type="text/html")
    page = web.post("/attachments/", {"file": upload, "field": "f_attachment"})
    assert page.status_code in {201, 400}, page.content
    api_upload = SimpleUploadedFile(name, b"all green", content_type="text/html")
    api = api_for(users.pm_alice).post(
        "/api/v1/attachments/", {"file": api_upload}, format="multipart"
    )
    assert api.status_code in {201, 400}, api.content
    for stored in Attachment.objects.all():
        # The multipart parser drops path parts and invisible characters; what is left is safe.
        assert "/" not in stored.name and "\\" not in stored.name
        assert "\u202e" not in stored.name and "\u200b" not in stored.name
    if page.status_code == 201:
        for active in ACTIVE:
            assert active not in page.content.decode()
    ids = [str(a.pk) for a in Attachment.objects.all()]
    response = api_submit(api_for(users.pm_alice), hostile, "files", {**GOOD, "f_attachment": ids})
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    assert_rendered_safely(users, ticket)
    for attachment in Attachment.objects.all():
        download = web.get(f"/attachments/{attachment.pk}/")
        assert download["Content-Type"] == "text/plain; charset=utf-8"  # sniffed, not text/html
        assert download["Content-Disposition"].startswith('attachment; filename="')
        assert "\n" not in download["Content-Disposition"]


@pytest.mark.parametrize("name", ["a/b.txt", "a\\b.txt", "a\u202eb.txt", "a\nb.txt", "a\x07.txt"])
def test_dangerous_names_are_refused_when_they_reach_the_upload(name):
    assert unsafe_file_name(name)
    assert unsafe_file_name("release notes (v2).txt") is None
    assert unsafe_file_name("发布说明 🚀.pdf") is None


# --- directory and service names (the manage forms) -----------------------------------------------


@pytest.mark.parametrize("payload", [SCRIPT, IMG, SQL[1], UNICODE[0]])
def test_directory_and_service_names_from_the_manage_forms_are_escaped(hostile, users, payload):
    admin = client_for(users.admin)
    directory = admin.post(
        "/manage/catalog/hostile-dir/", {"key": "hostile-dir", "name": payload, "order": 0}
    )
    assert directory.status_code in {200, 302}, directory.status_code
    workflow = Workflow.objects.get(key="hostile")
    service = admin.post(
        f"/manage/services/{hostile.key}/",
        {
            "key": hostile.key,
            "name": payload,
            "description": payload,
            "workflow": workflow.pk,
            "order": 0,
            "visibility": "everyone",
        },
    )
    assert service.status_code in {200, 302}, service.status_code
    ticket = submitted(hostile, users)
    do_comment_ticket(ticket, actor=users.pm_alice, text=payload, source="web")
    assert_rendered_safely(users, ticket)


def test_upload_action_and_pages_with_a_hostile_name(hostile, users):
    """The action itself (what the CLI client reaches through the API) keeps the name as
    display text; it is escaped wherever it is shown."""
    attachment = do_upload_attachment(
        SimpleUploadedFile(f"{SCRIPT}.txt", b"x"), actor=users.pm_alice
    )
    response = api_submit(
        api_for(users.pm_alice), hostile, "a", {**GOOD, "f_attachment": [str(attachment.pk)]}
    )
    assert response.status_code == 201
    assert_rendered_safely(users, Ticket.objects.get())
