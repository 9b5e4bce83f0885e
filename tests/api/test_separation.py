"""Separation of duties over the API: a barred caller sees why and gets 403
separation_of_duties with nothing changed; an admin overrides with `override_reason`."""

import pytest

from flowdesk.audit.models import AuditEntry
from flowdesk.tickets.models import Ticket
from tests.tickets.test_separation import strict_service  # noqa: F401 (a fixture)

from .conftest import TEST_PASS, problem, submit, task_on

pytestmark = pytest.mark.django_db

RULE = "You handled 'Coordinate release resources' on this ticket, so you may not handle 'Release'."


def at_release(clients) -> dict:
    """A strict ticket whose resources Carol coordinated: waiting at release."""
    ticket = submit(clients.pm_alice, service="app-release-strict")
    sn = ticket["sn"]
    test = task_on(ticket, "test_confirm")["id"]
    clients.test_bob.post(f"/api/v1/tasks/{test}/complete/", {"fields": TEST_PASS})
    coordinate = task_on(clients.ops_carol.get(f"/api/v1/tickets/{sn}/").json(), "coordinate")
    clients.ops_carol.post(f"/api/v1/tasks/{coordinate['id']}/approve/", {})
    return clients.ops_carol.get(f"/api/v1/tickets/{sn}/").json()


def unchanged(sn: str) -> tuple:
    ticket = Ticket.objects.get(sn=sn)
    return ticket.state, ticket.events.count(), AuditEntry.objects.count()


@pytest.fixture
def release(clients, strict_service):  # noqa: F811
    ticket = at_release(clients)
    return ticket["sn"], task_on(ticket, "release")


def test_the_barred_caller_sees_the_reason_and_no_complete(clients, release):
    sn, task = release
    assert task["barred_reason"] == RULE
    assert "complete" not in task["actions"]
    (todo,) = clients.ops_carol.get("/api/v1/tasks/", {"todo": 1, "ticket": sn}).json()["results"]
    assert todo["barred_reason"] == RULE and "complete" not in todo["actions"]
    admin_view = task_on(clients.admin.get(f"/api/v1/tickets/{sn}/").json(), "release")
    assert admin_view["barred_reason"] is None and "complete" in admin_view["actions"]


def test_acting_anyway_is_403_and_changes_nothing(clients, release):
    sn, task = release
    before = unchanged(sn)
    response = clients.ops_carol.post(
        f"/api/v1/tasks/{task['id']}/complete/", {"fields": {"release_summary": "x"}}
    )
    assert problem(response, 403, "separation_of_duties")["detail"] == RULE
    assert unchanged(sn) == before


def test_a_non_admin_may_not_override(clients, release):
    sn, task = release
    before = unchanged(sn)
    response = clients.ops_carol.post(
        f"/api/v1/tasks/{task['id']}/complete/",
        {"fields": {"release_summary": "x"}, "override_reason": "urgent"},
    )
    assert "Only a Flowdesk admin" in problem(response, 403, "forbidden")["detail"]
    assert unchanged(sn) == before


def barred_admin_release(clients, sn: str, task: dict) -> dict:
    """Send the ticket back so that the admin (ops in Game A too) approves coordinate: then
    he is barred from release as well."""
    clients.ops_carol.post(
        f"/api/v1/tasks/{task['id']}/return/", {"target": "coordinate", "reason": "again"}
    )
    coordinate = task_on(clients.admin.get(f"/api/v1/tickets/{sn}/").json(), "coordinate")
    clients.admin.post(f"/api/v1/tasks/{coordinate['id']}/approve/", {})
    return task_on(clients.admin.get(f"/api/v1/tickets/{sn}/").json(), "release")


def test_an_override_needs_a_reason(clients, release):
    sn, task = release
    task = barred_admin_release(clients, sn, task)
    assert task["barred_reason"] == RULE
    before = unchanged(sn)
    response = clients.admin.post(
        f"/api/v1/tasks/{task['id']}/complete/",
        {"fields": {"release_summary": "x"}, "override_reason": " "},
    )
    assert "override_reason" in problem(response, 400, "invalid")["errors"]
    assert unchanged(sn) == before


def test_an_admin_override_with_a_reason_is_done_and_audited(clients, release):
    sn, task = release
    task = barred_admin_release(clients, sn, task)
    response = clients.admin.post(
        f"/api/v1/tasks/{task['id']}/complete/",
        {"fields": {"release_summary": "Rolled out"}, "override_reason": "Carol is ill"},
    )
    assert response.status_code == 200, response.content
    assert [n["id"] for n in response.json()["current_nodes"]] == ["qc_review"]
    override = {"by": "admin", "reason": "Carol is ill", "rule": RULE}
    history = clients.admin.get(f"/api/v1/tickets/{sn}/events/").json()
    events = history["results"] if isinstance(history, dict) else history
    (completed,) = [e for e in events if e["kind"] == "completed" and e["node"] == "release"]
    assert completed["data"]["override"] == override
    entry = AuditEntry.objects.filter(action="ticket.completed", obj_id=sn).latest("seq")
    assert entry.data["override"] == override and entry.source == "api"
