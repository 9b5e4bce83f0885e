"""Countersign, parallel branches and version pinning through the service layer."""

import pytest

from flowdesk.engine import NotAllowed
from flowdesk.tickets import actions
from flowdesk.tickets.models import Task, Ticket, open_tasks_for
from flowdesk.workflows.actions import do_deploy_workflow, do_save_draft
from tests.factories import deploy_service, global_workflow

pytestmark = pytest.mark.django_db

CAB = ["pm_alice", "test_bob", "ops_carol"]


def countersign(mode: str, **approval) -> dict:
    return global_workflow(
        f"cab-{mode}",
        nodes=[
            {
                "id": "cab",
                "type": "approval",
                "name": "Change advisory board",
                "operators": [{"type": "users", "users": CAB}],
                "approval": {"mode": mode, **approval},
            }
        ],
        transitions=[{"from": "submit", "to": "cab"}, {"from": "cab", "to": "done"}],
    )


def submit(service, user):
    return actions.do_submit_ticket(service, actor=user, title="Upgrade DB", values={})


def task_of(user, ticket):
    (task,) = open_tasks_for(user).filter(ticket=ticket)
    return task


def test_all_mode_gives_each_approver_their_own_task(demo, users):
    ticket = submit(deploy_service(countersign("all")), users.qc_c)
    tasks = {name: task_of(getattr(users, name), ticket) for name in CAB}
    assert len({t.pk for t in tasks.values()}) == 3
    assert all(t.assignee.username == name for name, t in tasks.items())

    actions.do_approve_task(tasks["pm_alice"], actor=users.pm_alice)
    # One approver cannot act on another's task.
    with pytest.raises(NotAllowed):
        actions.do_approve_task(tasks["ops_carol"], actor=users.test_bob)
    actions.do_approve_task(tasks["test_bob"], actor=users.test_bob)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.RUNNING
    actions.do_approve_task(tasks["ops_carol"], actor=users.ops_carol)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.FINISHED
    assert ticket.events.filter(kind="decided", data__result="approved").count() == 1


def test_all_mode_one_rejection_terminates_and_closes_the_other_tasks(demo, users):
    ticket = submit(deploy_service(countersign("all")), users.qc_c)
    actions.do_reject_task(task_of(users.test_bob, ticket), actor=users.test_bob, comment="Risky")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.TERMINATED
    assert not Task.objects.filter(ticket=ticket, status=Task.Status.OPEN).exists()
    assert not open_tasks_for(users.pm_alice).exists()


def test_quorum_decides_at_two_of_three(demo, users):
    ticket = submit(deploy_service(countersign("quorum", quorum=2)), users.qc_c)
    actions.do_approve_task(task_of(users.pm_alice, ticket), actor=users.pm_alice)
    actions.do_reject_task(task_of(users.test_bob, ticket), actor=users.test_bob)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.RUNNING
    actions.do_approve_task(task_of(users.ops_carol, ticket), actor=users.ops_carol)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.FINISHED


def test_sequential_asks_one_approver_at_a_time(demo, users):
    ticket = submit(deploy_service(countersign("all", order="sequential")), users.qc_c)
    assert open_tasks_for(users.pm_alice).filter(ticket=ticket).exists()
    assert not open_tasks_for(users.test_bob).filter(ticket=ticket).exists()
    actions.do_approve_task(task_of(users.pm_alice, ticket), actor=users.pm_alice)
    assert task_of(users.test_bob, ticket)


def test_parallel_branches_join_once(demo, users):
    document = global_workflow(
        "db-upgrade",
        nodes=[
            {"id": "split", "type": "parallel_split"},
            {
                "id": "backup",
                "type": "task",
                "name": "Backup",
                "operators": [{"type": "users", "users": ["ops_carol"]}],
            },
            {
                "id": "notify",
                "type": "task",
                "name": "Notify users",
                "operators": [{"type": "users", "users": ["pm_alice"]}],
            },
            {"id": "join", "type": "parallel_join"},
            {
                "id": "upgrade",
                "type": "task",
                "name": "Upgrade",
                "operators": [{"type": "users", "users": ["ops_carol"]}],
            },
        ],
        transitions=[
            {"from": "submit", "to": "split"},
            {"from": "split", "to": "backup"},
            {"from": "split", "to": "notify"},
            {"from": "backup", "to": "join"},
            {"from": "notify", "to": "join"},
            {"from": "join", "to": "upgrade"},
            {"from": "upgrade", "to": "done"},
        ],
    )
    ticket = submit(deploy_service(document), users.qc_c)
    actions.do_complete_task(task_of(users.ops_carol, ticket), actor=users.ops_carol, values={})
    assert not Task.objects.filter(ticket=ticket, node_id="upgrade").exists()
    actions.do_complete_task(task_of(users.pm_alice, ticket), actor=users.pm_alice, values={})
    assert Task.objects.filter(ticket=ticket, node_id="upgrade").count() == 1


def test_running_ticket_finishes_on_the_version_it_started_on(demo, users):
    document = countersign("single")
    service = deploy_service(document)
    ticket = submit(service, users.qc_c)
    # Version 2 sends approvals to pm_dave only; the running ticket keeps version 1's people.
    document["nodes"][1]["operators"] = [{"type": "users", "users": ["pm_dave"]}]
    workflow, _ = do_save_draft(document, actor=None, strict=True)
    version2, created = do_deploy_workflow(workflow, actor=None)
    assert created and version2.number == 2
    assert ticket.version.number == 1
    actions.do_approve_task(task_of(users.pm_alice, ticket), actor=users.pm_alice)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.FINISHED
    newer = submit(service, users.qc_c)
    assert newer.version == version2 and task_of(users.pm_dave, newer)


def test_claim_first_task(demo, users):
    document = global_workflow(
        "claimed",
        nodes=[
            {
                "id": "fix",
                "type": "task",
                "name": "Fix",
                "claim": True,
                "operators": [{"type": "users", "users": CAB}],
            }
        ],
        transitions=[{"from": "submit", "to": "fix"}, {"from": "fix", "to": "done"}],
    )
    ticket = submit(deploy_service(document), users.qc_c)
    task = task_of(users.test_bob, ticket)
    with pytest.raises(NotAllowed, match="Claim"):
        actions.do_complete_task(task, actor=users.test_bob, values={})
    actions.do_claim_task(task, actor=users.test_bob)
    assert not open_tasks_for(users.pm_alice).filter(ticket=ticket).exists()
    with pytest.raises(NotAllowed, match="already claimed by test_bob"):
        actions.do_claim_task(task, actor=users.pm_alice)
    actions.do_complete_task(task, actor=users.test_bob, values={})
