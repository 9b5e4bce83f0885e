"""Every endpoint: anonymous callers get 401, callers without the right 403 or 404 (a ticket
they may not see is "not found"), and nothing changes."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from flowdesk.api.actions import do_create_token
from flowdesk.api.models import ApiToken
from flowdesk.automation.models import AutomationRun
from flowdesk.catalog.actions import do_save_service
from flowdesk.directory.models import Role, RoleMembership
from flowdesk.tickets.actions import do_upload_attachment
from flowdesk.tickets.models import Attachment, Event, Follow, Task, Ticket
from flowdesk.workflows.models import Workflow, WorkflowVersion
from tests.api.conftest import NEW_TICKET, SUBMIT, TEST_PASS, problem, submit, task_on
from tests.automation.conftest import unstarted_run

pytestmark = pytest.mark.django_db

DOCUMENT = {"key": "tiny", "name": "Tiny", "type": "change", "scope": "global"}
MEMBER = {"user": "test_erin", "business": "game-a"}

# (method, path, body, who lacks the right, status, code). {sn}, {task}, {token} are filled in;
# test_erin (test in Game B) cannot see Game A's ticket; test_bob is its tester, no manager.
MATRIX = [
    ("get", "/api/v1/tickets/", None, None, None, None),
    ("post", "/api/v1/tickets/", {**NEW_TICKET, "fields": SUBMIT}, "test_erin", 403, "forbidden"),
    ("get", "/api/v1/tickets/{sn}/", None, "test_erin", 404, "not_found"),
    ("get", "/api/v1/tickets/{sn}/events/", None, "test_erin", 404, "not_found"),
    ("post", "/api/v1/tickets/{sn}/comment/", {"text": "x"}, "test_erin", 404, "not_found"),
    ("post", "/api/v1/tickets/{sn}/follow/", {}, "test_erin", 404, "not_found"),
    ("post", "/api/v1/tickets/{sn}/unfollow/", {}, "test_erin", 404, "not_found"),
    ("post", "/api/v1/tickets/{sn}/withdraw/", {"reason": "x"}, "test_bob", 403, "forbidden"),
    ("post", "/api/v1/tickets/{sn}/suspend/", {"reason": "x"}, "test_bob", 403, "forbidden"),
    ("post", "/api/v1/tickets/{sn}/resume/", {}, "test_bob", 403, "forbidden"),
    ("post", "/api/v1/tickets/{sn}/terminate/", {"reason": "x"}, "test_bob", 403, "forbidden"),
    ("post", "/api/v1/tickets/{sn}/urge/", {}, "test_bob", 403, "forbidden"),
    ("post", "/api/v1/tickets/{sn}/terminate/", {"reason": "x"}, "test_erin", 404, "not_found"),
    ("get", "/api/v1/tasks/", None, None, None, None),
    ("get", "/api/v1/tasks/{task}/", None, "test_erin", 404, "not_found"),
    ("post", "/api/v1/tasks/{task}/complete/", {"fields": TEST_PASS}, "pm_alice", 403, "forbidden"),
    (
        "post",
        "/api/v1/tasks/{task}/complete/",
        {"fields": TEST_PASS},
        "test_erin",
        404,
        "not_found",
    ),
    ("post", "/api/v1/tasks/{task}/approve/", {}, "pm_alice", 403, "forbidden"),
    ("post", "/api/v1/tasks/{task}/reject/", {}, "pm_alice", 403, "forbidden"),
    (
        "post",
        "/api/v1/tasks/{task}/return/",
        {"target": "submit", "reason": "x"},
        "pm_alice",
        403,
        "forbidden",
    ),
    ("post", "/api/v1/tasks/{task}/transfer/", {"user": "pm_alice"}, "pm_alice", 403, "forbidden"),
    ("post", "/api/v1/tasks/{task}/claim/", {}, "test_erin", 404, "not_found"),
    ("get", "/api/v1/catalog/", None, None, None, None),
    ("get", "/api/v1/services/", None, None, None, None),
    ("get", "/api/v1/services/qc-only/", None, "test_erin", 404, "not_found"),
    ("get", "/api/v1/workflows/", None, "test_bob", 403, "forbidden"),
    ("get", "/api/v1/workflows/app-release/", None, "test_bob", 403, "forbidden"),
    ("get", "/api/v1/workflows/app-release/versions/1/", None, "test_bob", 403, "forbidden"),
    ("post", "/api/v1/workflows/validate/", DOCUMENT, "test_bob", 403, "forbidden"),
    ("post", "/api/v1/workflows/", DOCUMENT, "test_bob", 403, "forbidden"),
    ("post", "/api/v1/workflows/app-release/deploy/", {}, "test_bob", 403, "forbidden"),
    ("get", "/api/v1/users/", None, "test_bob", 403, "forbidden"),
    ("get", "/api/v1/businesses/", None, "test_bob", 403, "forbidden"),
    ("get", "/api/v1/roles/", None, "test_bob", 403, "forbidden"),
    ("post", "/api/v1/roles/test/members/", MEMBER, "test_bob", 403, "forbidden"),
    ("delete", "/api/v1/roles/test/members/", MEMBER, "test_bob", 403, "forbidden"),
    ("get", "/api/v1/tokens/", None, None, None, None),
    ("post", "/api/v1/tokens/", {"name": "ci"}, None, None, None),
    ("delete", "/api/v1/tokens/{token}/", None, "test_bob", 404, "not_found"),
    ("post", "/api/v1/attachments/", None, None, None, None),
    ("get", "/api/v1/attachments/{attachment}/", None, "test_bob", 404, "not_found"),
    ("get", "/api/v1/attachments/{attachment}/download/", None, "test_bob", 404, "not_found"),
    ("get", "/api/v1/automation-runs/", None, None, None, None),
    ("get", "/api/v1/automation-runs/{run}/", None, "test_erin", 404, "not_found"),
    ("post", "/api/v1/automation-runs/{run}/retry/", {}, "pm_alice", 403, "forbidden"),
    ("post", "/api/v1/automation-runs/{run}/skip/", {"reason": "x"}, "pm_alice", 403, "forbidden"),
    (
        "post",
        "/api/v1/automation-runs/{run}/complete/",
        {"reason": "x"},
        "pm_alice",
        403,
        "forbidden",
    ),
    # No user signs in to report a callback: its signature counts (tests/automation/).
    ("post", "/api/v1/callbacks/{callback}/", {"outcome": "ok"}, "anonymous", 404, "not_found"),
]


@pytest.fixture
def world(clients, users, release_service):
    """A Game A ticket waiting for test_bob, a service only QC sees, a token of pm_alice, a
    file she uploaded and no ticket names."""
    ticket = submit(clients.pm_alice)
    do_save_service(
        "qc-only",
        name="QC only",
        workflow=release_service.workflow,
        visibility="roles",
        visible_roles=[Role.objects.get(key="QC")],
        actor=None,
    )
    token, _raw = do_create_token(users.pm_alice, actor=None)
    attachment = do_upload_attachment(SimpleUploadedFile("a.txt", b"a"), actor=users.pm_alice)
    return {
        "run": unstarted_run(users.pm_alice).pk,
        "callback": "no-such-token",
        "sn": ticket["sn"],
        "task": task_on(ticket, "test_confirm")["id"],
        "token": token.pk,
        "attachment": attachment.pk,
    }


def state() -> tuple:
    """Everything an endpoint of the matrix could change."""
    return (
        list(Ticket.objects.values_list("sn", "status", "state")),
        Event.objects.count(),
        list(Task.objects.values_list("pk", "status", "assignee")),
        Follow.objects.count(),
        list(RoleMembership.objects.values_list("pk", flat=True)),
        list(ApiToken.objects.values_list("pk", "revoked_at")),
        list(Workflow.objects.values_list("key", "draft")),
        WorkflowVersion.objects.count(),
        Attachment.objects.count(),
        list(AutomationRun.objects.values_list("pk", "status")),
    )


def call(client: APIClient, method: str, path: str, body: dict | None):
    return getattr(client, method)(path, body, format="json")


@pytest.mark.parametrize(("method", "path", "body", "who", "status", "code"), MATRIX)
def test_endpoint_refuses_callers_without_the_right(
    world, clients, anonymous, method, path, body, who, status, code
):
    path = path.format(**world)
    anonymous_only = who == "anonymous"
    client = getattr(clients, who) if who and not anonymous_only else None  # token made first
    before = state()
    if anonymous_only:
        client = anonymous
    else:
        problem(call(anonymous, method, path, body), 401, "not_authenticated")
    assert state() == before
    if client is not None:
        problem(call(client, method, path, body), status, code)
        assert state() == before


def test_every_endpoint_of_the_schema_is_in_the_matrix(clients):
    schema = clients.admin.get("/api/schema/", {"format": "json"}).json()
    documented = {
        (method, path)
        for path, ops in schema["paths"].items()
        for method in ops
        if method != "parameters"
    }
    covered = {(m, _template(p)) for m, p, *_ in MATRIX}
    assert documented == covered


def _template(path: str) -> str:
    return (
        path.replace("{sn}", "{sn}")
        .replace("{task}", "{id}")
        .replace("{token}", "{id}")
        .replace("{attachment}", "{id}")
        .replace("{run}", "{id}")
        .replace("{callback}", "{token}")
        .replace("qc-only", "{key}")
        .replace("app-release", "{key}")
        .replace("/test/", "/{key}/")
        .replace("versions/1/", "versions/{number}/")
    )


def test_lists_show_only_what_the_caller_may_see(world, clients):
    erin = clients.test_erin
    assert erin.get("/api/v1/tickets/").json()["results"] == []
    assert erin.get("/api/v1/tasks/").json()["results"] == []
    assert [s["key"] for s in erin.get("/api/v1/services/").json()] == ["app-release"]
    assert [s["key"] for s in clients.qc_c.get("/api/v1/services/").json()] == [
        "app-release",
        "qc-only",
    ]
    assert clients.pm_alice.get("/api/v1/tokens/").json()[0]["id"] == world["token"]
    erins = erin.get("/api/v1/tokens/").json()
    assert len(erins) == 1 and erins[0]["id"] != world["token"]  # only her own
