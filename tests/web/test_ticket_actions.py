"""The ticket page's POSTs: each calls one action; refused input changes nothing."""

import pytest

from flowdesk.tickets.actions import do_submit_ticket
from flowdesk.tickets.models import Event, Follow, Task, Ticket, open_tasks_for
from tests.factories import deploy_service, global_workflow

pytestmark = pytest.mark.django_db

FAIL = {"test_assessment": "high_risk", "test_result": "fail", "test_summary": "Crash"}
PASS = {"test_assessment": "low_risk", "test_result": "pass", "test_summary": "Green"}


def task_of(user, ticket) -> Task:
    (task,) = open_tasks_for(user).filter(ticket=ticket)
    return task


def act(client, ticket, task, action, data=None):
    return client.post(f"/tickets/{ticket.sn}/tasks/{task.pk}/{action}/", data or {})


def test_complete_a_step(client_for, submit, users):
    ticket = submit()
    response = act(
        client_for("test_bob"), ticket, task_of(users.test_bob, ticket), "complete", PASS
    )
    assert response.status_code == 302
    carol_task = task_of(users.ops_carol, ticket)
    assert carol_task.node_id == "coordinate"
    assert ticket.events.get(kind="completed").data["source"] == "web"


def test_bad_values_show_next_to_the_field_and_change_nothing(client_for, submit, users):
    ticket = submit()
    task = task_of(users.test_bob, ticket)
    events = ticket.events.count()
    response = act(
        client_for("test_bob"), ticket, task, "complete", {**PASS, "test_result": "maybe"}
    )
    assert response.status_code == 422
    page = response.content.decode()
    block = page.split('id="fd-field-test_result"')[1].split('id="fd-field-')[0]
    assert "Choose one of: pass, fail." in block
    assert ticket.events.count() == events
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN


def test_a_value_the_form_refuses_is_shown_not_dropped(client_for, demo, users):
    """A NUL in an optional text field: the page says so and the step stays open – it is not
    completed with that field quietly left empty."""
    document = global_workflow(
        "notes",
        nodes=[
            {
                "id": "review",
                "type": "task",
                "name": "Review",
                "operators": [{"type": "users", "users": ["test_bob"]}],
                "fields": ["note"],
            }
        ],
        transitions=[{"from": "submit", "to": "review"}, {"from": "review", "to": "done"}],
        fields=[{"key": "note", "type": "text", "label": "Note"}],
    )
    ticket = do_submit_ticket(
        deploy_service(document), actor=users.pm_alice, title="Notes", values={}
    )
    task = task_of(users.test_bob, ticket)
    events = ticket.events.count()
    response = act(client_for("test_bob"), ticket, task, "complete", {"note": "Gr\x00een"})
    assert response.status_code == 422
    block = response.content.decode().split('id="fd-field-note"')[1].split("fd-field-")[0]
    assert "Null characters are not allowed." in block
    assert ticket.events.count() == events
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN


def test_already_handled_task_says_by_whom(client_for, submit, users):
    ticket = submit()
    task = task_of(users.test_bob, ticket)
    bob = client_for("test_bob")
    act(bob, ticket, task, "complete", FAIL)
    response = act(bob, ticket, task, "complete", PASS)
    assert response.status_code == 302
    page = bob.get(response.headers["Location"]).content.decode()
    assert "This step was already handled by test_bob at" in page


def test_someone_else_cannot_act(client_for, submit, users):
    ticket = submit()
    task = task_of(users.test_bob, ticket)
    response = act(client_for("pm_alice"), ticket, task, "complete", PASS)
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN
    assert act(client_for("pm_dave"), ticket, task, "complete", PASS).status_code == 404


def test_approve_and_return(client_for, submit, users):
    ticket = submit()
    act(client_for("test_bob"), ticket, task_of(users.test_bob, ticket), "complete", PASS)
    carol = client_for("ops_carol")
    task = task_of(users.ops_carol, ticket)
    page = carol.get(f"/tickets/{ticket.sn}/").content.decode()
    assert "Approve" in page and "Reject" in page and 'name="target"' in page
    missing = act(carol, ticket, task, "return", {"target": "submit", "reason": ""})
    assert (
        missing.status_code == 422 and "Say why the ticket goes back." in missing.content.decode()
    )
    act(carol, ticket, task, "return", {"target": "submit", "reason": "Wrong package"})
    assert task_of(users.pm_alice, ticket).node_id == "submit"


def test_transfer_to_an_unknown_user_is_a_field_error(client_for, submit, users):
    ticket = submit()
    task = task_of(users.test_bob, ticket)
    bob = client_for("test_bob")
    response = act(bob, ticket, task, "transfer", {"to_user": "nobody"})
    assert response.status_code == 422
    assert "There is no user named &#x27;nobody&#x27;." in response.content.decode()
    act(bob, ticket, task, "transfer", {"to_user": "test_erin"})
    assert task_of(users.test_erin, ticket) == task


def test_comment_follow_and_terminate(client_for, submit, users):
    ticket = submit()
    alice, admin = client_for("pm_alice"), client_for("admin")
    empty = alice.post(f"/tickets/{ticket.sn}/do/comment/", {"comment": " "})
    assert empty.status_code == 422 and "Write a comment." in empty.content.decode()
    alice.post(f"/tickets/{ticket.sn}/do/comment/", {"comment": "Any news?"})
    assert Event.objects.filter(ticket=ticket, kind="commented").count() == 1
    client_for("test_bob").post(f"/tickets/{ticket.sn}/do/follow/")
    assert Follow.objects.filter(ticket=ticket, user=users.test_bob).exists()
    assert admin.post(f"/tickets/{ticket.sn}/do/terminate/", {"comment": ""}).status_code == 422
    admin.post(f"/tickets/{ticket.sn}/do/terminate/", {"comment": "Cancelled"})
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.TERMINATED


def test_only_permitted_ticket_actions_are_offered(client_for, submit):
    ticket = submit()
    alice = client_for("pm_alice").get(f"/tickets/{ticket.sn}/").content.decode()
    assert "/do/withdraw/" in alice and "/do/terminate/" not in alice
    admin = client_for("admin").get(f"/tickets/{ticket.sn}/").content.decode()
    assert "/do/terminate/" in admin and "/do/suspend/" in admin


def test_finished_ticket_shows_the_whole_process_done(client_for, submit, users):
    ticket = submit()
    act(client_for("test_bob"), ticket, task_of(users.test_bob, ticket), "complete", PASS)
    carol = client_for("ops_carol")
    act(carol, ticket, task_of(users.ops_carol, ticket), "approve")
    act(carol, ticket, task_of(users.ops_carol, ticket), "complete", {"release_summary": "Done"})
    qc = {"qc_result": "good", "qc_summary": "Fine"}
    act(client_for("qc_c"), ticket, task_of(users.qc_c, ticket), "complete", qc)
    page = client_for("pm_alice").get(f"/tickets/{ticket.sn}/").content.decode()
    assert 'data-status="pending"' not in page and 'data-status="current"' not in page
    assert 'data-node="done" data-status="done"' in page
    printed = client_for("pm_alice").get(f"/tickets/{ticket.sn}/print/").content.decode()
    assert "QC evaluation" in printed and "Fine" in printed
