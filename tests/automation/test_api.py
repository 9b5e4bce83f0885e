"""Automation runs in the REST API: reading them, and retry, skip and complete by hand."""

import pytest

from flowdesk.automation.models import AutomationRun
from tests.api.conftest import Clients, problem
from tests.automation.conftest import Reply

pytestmark = pytest.mark.django_db
Status = AutomationRun.Status


@pytest.fixture
def clients(users) -> Clients:
    return Clients(users)


def test_runs_of_a_ticket_and_one_run_in_detail(failed, clients):
    ticket, run = failed

    listed = clients.ops_frank.get("/api/v1/automation-runs/", {"ticket": ticket.sn}).json()
    detail = clients.ops_frank.get(f"/api/v1/automation-runs/{run.pk}/").json()

    assert [r["id"] for r in listed["results"]] == [run.pk]
    assert listed["results"][0]["status"] == "failed"
    assert listed["results"][0]["ticket"]["sn"] == ticket.sn
    assert detail["node"] == "run" and detail["node_name"] == "Deploy"
    assert detail["response_status"] == 500 and "answered 500" in detail["error"]
    assert detail["request"]["method"] == "POST"
    assert detail["actions"] == ["retry", "skip", "complete"]
    assert clients.pm_alice.get(f"/api/v1/automation-runs/{run.pk}/").json()["actions"] == []
    problem(clients.test_erin.get(f"/api/v1/automation-runs/{run.pk}/"), 404, "not_found")
    assert clients.test_erin.get("/api/v1/automation-runs/").json()["results"] == []


def test_retry_skip_and_complete(failed, clients, system):
    ticket, run = failed
    system.reply("/deploy", Reply(500, {}))

    retried = clients.ops_frank.post(f"/api/v1/automation-runs/{run.pk}/retry/")
    assert retried.status_code == 201, retried.content
    second = retried.json()
    assert second["attempt"] == 2 and second["status"] == "running"

    refused = clients.ops_frank.post(f"/api/v1/automation-runs/{second['id']}/skip/", {})
    assert problem(refused, 400, "invalid")["errors"] == {
        "reason": ["Say why the step is skipped."]
    }
    done = clients.ops_frank.post(
        f"/api/v1/automation-runs/{second['id']}/complete/",
        {"fields": {"deploy_id": "BY-HAND"}, "reason": "Deployed from the console"},
    )
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["sn"] == ticket.sn and body["fields"]["deploy_id"] == "BY-HAND"
    assert [t["node"] for t in body["tasks"]] == ["review"]
    assert AutomationRun.objects.get(pk=second["id"]).status == Status.COMPLETED_BY_HAND
    assert ticket.events.get(kind="completed", node_id="run").data["source"] == "api"


def test_a_requester_may_not_step_in(failed, clients):
    _ticket, run = failed
    for action, body in (("retry", None), ("skip", {"reason": "x"})):
        response = clients.pm_alice.post(f"/api/v1/automation-runs/{run.pk}/{action}/", body)
        problem(response, 403, "forbidden")
    assert AutomationRun.objects.count() == 1


def test_the_generic_task_actions_are_not_offered_on_an_automation_step(failed, clients):
    ticket, _run = failed
    body = clients.ops_frank.get(f"/api/v1/tickets/{ticket.sn}/").json()
    (task,) = body["tasks"]
    assert task["node_type"] == "automation" and task["actions"] == []
