"""Stepping in by hand: retry, skip (with a reason) and complete with the step's fields; only
the step's operators, a service owner or an admin may, and everything is recorded."""

import pytest

from flowdesk.automation.actions import (
    do_complete_automation,
    do_retry_automation,
    do_skip_automation,
)
from flowdesk.automation.models import AutomationRun
from flowdesk.automation.queries import run_actions
from flowdesk.engine import InvalidValues, NotAllowed
from flowdesk.tickets.queries import current_steps, snapshots
from tests.automation.conftest import Reply, automation_service, run_of, work

pytestmark = pytest.mark.django_db
Status = AutomationRun.Status


def steps(ticket) -> list[str]:
    ticket.refresh_from_db()
    return [node for node, _ in current_steps(ticket)]


def test_skip_needs_a_reason_and_is_recorded(failed, users):
    ticket, run = failed
    with pytest.raises(InvalidValues) as refused:
        do_skip_automation(run, actor=users.ops_frank, reason="  ")
    assert refused.value.errors == {"reason": ["Say why the step is skipped."]}

    do_skip_automation(run, actor=users.ops_frank, reason="Deployed by hand in the console")

    run.refresh_from_db()
    assert run.status == Status.SKIPPED and "answered 500" in run.error  # the error stays
    assert steps(ticket) == ["review"]
    event = ticket.events.get(kind="automation_skipped")
    assert event.actor == users.ops_frank
    assert event.data["comment"] == "Deployed by hand in the console"
    assert event.data["automation"]["status"] == "skipped"
    assert "deploy_id" not in ticket.values  # no outputs


def test_complete_by_hand_stores_the_fields_and_the_reason(failed, users):
    ticket, run = failed

    do_complete_automation(
        run, actor=users.ops_frank, values={"deploy_id": "MANUAL-1"}, reason="Ran the script"
    )

    run.refresh_from_db()
    assert run.status == Status.COMPLETED_BY_HAND
    assert steps(ticket) == ["review"] and ticket.values["deploy_id"] == "MANUAL-1"
    event = ticket.events.get(kind="completed", node_id="run")
    assert event.actor == users.ops_frank and event.data["comment"] == "Ran the script"
    assert event.data["automation"]["run"] == run.pk
    assert [(s.node, s.by) for s in snapshots(ticket)][-1] == ("run", "ops_frank")


def test_a_waiting_step_may_be_completed_by_hand(system, submit, users):
    service = automation_service(
        "deploy-wait",
        {
            "action": "http",
            "request": {"url": system.url + "/jobs", "body": {"cb": "{{ callback_url }}"}},
            "wait": "callback",
            "callback": {"secret": "CALLBACK_KEY", "timeout": "2h"},
        },
    )
    system.reply("/jobs", Reply(202, {}))
    ticket = submit(service)
    run = work(run_of(ticket))
    assert run_actions(users.ops_frank, run) == ["skip", "complete"]  # no retry while open

    with pytest.raises(NotAllowed, match="still running"):
        do_retry_automation(run, actor=users.ops_frank)
    do_skip_automation(run, actor=users.ops_frank, reason="The job system is gone")

    run.refresh_from_db()
    assert run.status == Status.SKIPPED and steps(ticket) == ["review"]


@pytest.mark.parametrize("who", ["pm_alice", "test_bob"])
def test_people_who_are_not_operators_may_not_step_in(failed, users, who):
    ticket, run = failed
    person = getattr(users, who)
    assert run_actions(person, run) == []
    for act in (
        lambda: do_retry_automation(run, actor=person),
        lambda: do_skip_automation(run, actor=person, reason="why not"),
        lambda: do_complete_automation(run, actor=person, values={}, reason="why not"),
    ):
        with pytest.raises(NotAllowed, match="Only the operators of this step"):
            act()
    assert AutomationRun.objects.filter(ticket=ticket).count() == 1
    assert steps(ticket) == ["run"]


def test_an_admin_may_step_in(failed, users):
    ticket, run = failed
    assert run_actions(users.admin, run) == ["retry", "skip", "complete"]
    new = do_retry_automation(run, actor=users.admin)
    assert new.attempt == 2 and new.status == Status.RUNNING


def test_only_the_latest_attempt_can_be_acted_on(failed, users, system):
    ticket, first = failed
    second = work(do_retry_automation(first, actor=users.ops_frank))
    assert second.status == Status.FAILED and len(system.seen) == 2

    assert run_actions(users.ops_frank, first) == []
    with pytest.raises(NotAllowed, match="not the step's latest"):
        do_skip_automation(first, actor=users.ops_frank, reason="old")
    third = do_retry_automation(second, actor=users.ops_frank)
    assert third.attempt == 3


@pytest.mark.parametrize("verb", ["complete", "transfer"])
def test_the_generic_task_actions_refuse_an_automation_step(failed, users, verb):
    """Stepping in goes through retry/skip/complete-by-hand, which ask for a reason."""
    from flowdesk.tickets import actions
    from flowdesk.tickets.models import Task

    ticket, run = failed
    task = Task.objects.get(ticket=ticket, node_id=run.node_id, status=Task.Status.OPEN)
    events = ticket.events.count()
    with pytest.raises(NotAllowed, match="carried out by Flowdesk itself"):
        if verb == "complete":
            actions.do_complete_task(task, actor=users.ops_frank, values={})
        else:
            actions.do_transfer_task(task, actor=users.ops_frank, to_user=users.ops_carol)
    assert ticket.events.count() == events and steps(ticket) == [run.node_id]
