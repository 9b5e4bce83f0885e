"""The seed scenario through the REST API only, each person with their own token."""

import pytest

from tests.api.conftest import (
    NEW_TICKET,
    SUBMIT,
    TEST_FAIL,
    TEST_PASS,
    problem,
    submit,
    task_on,
)
from tests.packages import FIXED_MD5, FIXED_URL, run_automation

pytestmark = pytest.mark.django_db


def act(client, task: dict, verb: str, **body) -> dict:
    """The whole ticket after the action (the scenario reads its tasks and snapshots)."""
    response = client.post(f"/api/v1/tasks/{task['id']}/{verb}/?expand=ticket", body)
    assert response.status_code == 200, response.content
    return response.json()


def todo(client) -> list[dict]:
    response = client.get("/api/v1/tasks/", {"todo": 1})
    assert response.status_code == 200
    return response.json()["results"]


def test_whole_release_with_failed_test_then_resubmit(clients):
    alice, bob, carol, qc = clients.pm_alice, clients.test_bob, clients.ops_carol, clients.qc_c

    # pm_alice finds the service and its form, then submits.
    service = alice.get("/api/v1/services/app-release/").json()
    assert service["business_required"] is True
    assert [b["key"] for b in service["businesses"]] == ["game-a"]
    assert [f["key"] for f in service["fields"]] == list(SUBMIT)
    ticket = submit(alice, fields={"package_md5": SUBMIT["package_md5"].upper()})
    sn = ticket["sn"]
    assert ticket["status"] == "running" and ticket["requester"] == "pm_alice"
    assert ticket["fields"]["package_md5"] == SUBMIT["package_md5"]  # normalised
    assert ticket["current_nodes"] == [{"id": "test_confirm", "name": "Test confirmation"}]
    assert ticket["tasks"][0]["actions"] == []  # alice is not the tester
    assert "withdraw" in ticket["actions"]

    # test_bob sees it in his to-do list, with the form of his step; the test fails.
    (item,) = todo(bob)
    assert item["ticket"]["sn"] == sn and item["node"] == "test_confirm"
    assert item["actions"] == ["complete", "return", "transfer"]
    ticket = bob.get(f"/api/v1/tickets/{sn}/").json()
    step = task_on(ticket, "test_confirm")
    assert [f["key"] for f in step["fields"]] == list(TEST_PASS)
    ticket = act(bob, step, "complete", fields=TEST_FAIL, comment="Crashes on start")

    # Back to pm_alice, who submits a rebuilt package; her other values are kept.
    assert ticket["current_nodes"][0]["id"] == "submit"
    (item,) = todo(alice)
    new_md5 = FIXED_MD5  # a rebuilt package, at its own path
    fixed = {"package_url": FIXED_URL, "package_md5": new_md5}
    ticket = act(alice, item, "complete", fields=fixed)
    assert ticket["current_nodes"] == [{"id": "verify_package", "name": "Verify package checksum"}]
    assert ticket["fields"]["package_md5"] == new_md5
    assert ticket["fields"]["package_url"] == FIXED_URL
    assert ticket["fields"]["release_scope"] == SUBMIT["release_scope"]
    assert run_automation() == 1  # the rebuilt package is checked again, as the worker would

    (item,) = todo(bob)
    act(bob, item, "complete", fields=TEST_PASS)
    (item,) = todo(carol)
    assert item["node"] == "coordinate" and item["actions"][:2] == ["approve", "reject"]
    act(carol, item, "approve", comment="Slots booked")
    (item,) = todo(carol)
    assert item["node"] == "release"
    act(carol, item, "complete", fields={"release_summary": "Rolled out"})
    (item,) = todo(qc)
    ticket = act(qc, item, "complete", fields={"qc_result": "good", "qc_summary": "No incidents"})

    assert ticket["status"] == "finished" and ticket["end_reason"] == "finished"
    assert ticket["ended_at"] is not None and ticket["tasks"] == []
    assert ticket["current_nodes"] == []
    assert todo(alice) == todo(bob) == todo(carol) == todo(qc) == []
    assert [(s["node"], s["by"]) for s in ticket["snapshots"]] == [
        ("submit", "pm_alice"),
        ("test_confirm", "test_bob"),
        ("submit", "pm_alice"),
        ("test_confirm", "test_bob"),
        ("coordinate", "ops_carol"),
        ("release", "ops_carol"),
        ("qc_review", "qc_c"),
    ]

    # The history: every step, who, when, with what – and that it came through the API.
    events = alice.get(f"/api/v1/tickets/{sn}/events/").json()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    acted = [e for e in events if e["actor"]]
    assert all(e["data"]["source"] == "api" for e in acted)
    approval = next(e for e in events if e["kind"] == "approved")
    assert approval["data"]["comment"] == "Slots booked" and approval["actor"] == "ops_carol"
    resubmitted = next(e for e in events if e["kind"] == "completed" and e["node"] == "submit")
    assert resubmitted["data"]["changes"] == {
        "package_url": [SUBMIT["package_url"], FIXED_URL],
        "package_md5": [SUBMIT["package_md5"], new_md5],
    }
    checks = [e["node"] for e in events if e["kind"] == "automation_succeeded"]
    assert checks == ["verify_package", "verify_package"]  # each package, before testing
    assert events[-1]["kind"] == "ended" and events[-1]["data"]["status"] == "finished"

    # The finished ticket shows in the lists by status and requester.
    listed = bob.get("/api/v1/tickets/", {"status": "finished", "requester": "pm_alice"})
    assert [t["sn"] for t in listed.json()["results"]] == [sn]


def test_return_transfer_and_ticket_actions(clients, users):
    alice, bob, admin = clients.pm_alice, clients.test_bob, clients.admin
    ticket = submit(alice)
    sn, step = ticket["sn"], task_on(ticket, "test_confirm")

    ticket = act(bob, step, "transfer", user="ops_carol", comment="Carol tests this one")
    assert task_on(ticket, "test_confirm")["assignee"] == "ops_carol"
    assert todo(bob) == []
    (item,) = todo(clients.ops_carol)
    ticket = act(clients.ops_carol, item, "return", target="submit", reason="Wrong package")
    assert ticket["current_nodes"][0]["id"] == "submit"

    assert alice.post(f"/api/v1/tickets/{sn}/comment/", {"text": "On it"}).status_code == 200
    followed = bob.post(f"/api/v1/tickets/{sn}/follow/").json()
    assert "unfollow" in followed["actions"]
    assert "follow" in bob.post(f"/api/v1/tickets/{sn}/unfollow/").json()["actions"]
    assert alice.post(f"/api/v1/tickets/{sn}/urge/", {"comment": "Please"}).status_code == 200

    suspended = admin.post(f"/api/v1/tickets/{sn}/suspend/", {"reason": "Freeze"}).json()
    assert suspended["status"] == "suspended" and "resume" in suspended["actions"]
    assert admin.post(f"/api/v1/tickets/{sn}/resume/", {}).json()["status"] == "running"
    ended = admin.post(f"/api/v1/tickets/{sn}/terminate/", {"reason": "Cancelled"}).json()
    assert ended["status"] == "terminated" and ended["actions"] == ["comment", "follow"]

    other = submit(alice)
    withdrawn = alice.post(f"/api/v1/tickets/{other['sn']}/withdraw/", {"reason": "Oops"})
    assert withdrawn.json()["status"] == "withdrawn"
    kinds = [e["kind"] for e in alice.get(f"/api/v1/tickets/{sn}/events/").json()]
    for kind in ("transferred", "returned", "commented", "urged", "suspended", "terminated"):
        assert kind in kinds


BRIEF = {"sn", "title", "status", "url", "service", "business", "requester", "created_at",
         "current_nodes"}  # fmt: skip


def test_submit_and_task_actions_answer_the_brief_ticket_unless_asked(
    clients, django_assert_max_num_queries
):
    alice, bob = clients.pm_alice, clients.test_bob
    created = alice.post("/api/v1/tickets/", {**NEW_TICKET, "fields": SUBMIT})
    assert created.status_code == 201 and set(created.json()) == BRIEF
    assert created["Location"] == created.json()["url"]
    run_automation()
    (item,) = todo(bob)

    # A mistyped expansion is refused before anything is done.
    wrong = bob.post(f"/api/v1/tasks/{item['id']}/complete/?expand=tasks", {"fields": TEST_PASS})
    assert problem(wrong, 400, "invalid")["errors"] == {
        "expand": ["The only expansion is 'ticket'."]
    }
    assert todo(bob) == [item]

    # The brief answer costs no query beyond the action's own.
    with django_assert_max_num_queries(33):
        done = bob.post(f"/api/v1/tasks/{item['id']}/complete/", {"fields": TEST_PASS})
    assert done.status_code == 200 and set(done.json()) == BRIEF
    assert done.json()["current_nodes"] == [
        {"id": "coordinate", "name": "Coordinate release resources"}
    ]
