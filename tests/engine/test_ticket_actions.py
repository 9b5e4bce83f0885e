"""Whole-ticket actions and rules: operators, on_unassigned, withdraw, suspend/resume,
terminate, stale tasks, and the cost of a step staying flat as history grows."""

from __future__ import annotations

import json

import pytest

from flowdesk.engine import (
    NodeSkipped,
    NoOperator,
    NotAllowed,
    NotRunning,
    StatusChanged,
    TaskClosed,
    TaskNotOpen,
    TicketEnded,
    can_withdraw,
    current_nodes,
    open_tasks,
)

from .conftest import END, START, Ticket, approval, chain, gateway, make_ctx, task, users, workflow

TEST_ROLE = {"type": "business_role", "role": "test"}


def simple(settings=None, *ops, **node) -> object:
    return workflow(
        [START, task("check", *(ops or (TEST_ROLE,)), **node), task("wrap"), END],
        chain("submit", "check", "wrap", "done"),
        settings=settings,
    )


# --- operators ------------------------------------------------------------------------------


def test_operator_kinds_resolve_through_the_directory(directory):
    fields = [
        {"key": "approver", "type": "member", "label": "Approver"},
        {"key": "team", "type": "members", "label": "Team"},
    ]
    defn = workflow(
        [{**START, "fields": ["approver", "team"]},
         task("t", TEST_ROLE, {"type": "general_role", "role": "QC"}, {"type": "requester"},
              {"type": "requester_manager"}, {"type": "field", "field": "approver"},
              {"type": "field", "field": "team"}, {"type": "node_handler", "node": "submit"},
              users("eve"), claim=True),
         END],
        chain("submit", "t", "done"),
        fields,
    )  # fmt: skip
    ticket = Ticket(defn, make_ctx(directory))
    ticket.start(approver="ann", team=["ben", "test_bob"])
    record = ticket.tasks[1]
    assert record["candidates"] == [
        "test_bob", "qc_c", "pm_alice", "boss_bea", "ann", "ben", "eve",
    ]  # fmt: skip
    assert record["sources"] == [
        {"type": "business_role", "role": "test", "business": "game-a"},
        {"type": "general_role", "role": "QC"},
    ]
    assert record["claim"] is True
    assert record["assignee"] is None


def test_member_fields_must_name_existing_users(directory):
    from flowdesk.engine import InvalidValues

    fields = [{"key": "approver", "type": "member", "label": "Approver"}]
    defn = workflow(
        [{**START, "fields": ["approver"]}, task("t"), END], chain("submit", "t", "done"), fields
    )
    with pytest.raises(InvalidValues) as error:
        Ticket(defn, make_ctx(directory)).start(approver="zed")
    assert error.value.errors == {"approver": ["Unknown user 'zed'."]}


def test_start_operators_say_who_may_submit(directory):
    defn = workflow(
        [{**START, "operators": [{"type": "general_role", "role": "QC"}, users("ann")]}, END],
        chain("submit", "done"),
    )
    with pytest.raises(NotAllowed) as error:
        Ticket(defn, make_ctx(directory, requester="ben")).start("ben")
    assert str(error.value) == (
        "You may not submit this request: it is submitted by general role 'QC' or users ann."
    )
    ticket = Ticket(defn, make_ctx(directory, requester="ann"))
    ticket.start("ann")
    assert ticket.state["status"] == "finished"


# --- on_unassigned --------------------------------------------------------------------------


def test_fail_refuses_the_action_naming_step_and_role(directory):
    directory.business_roles[("test", "game-a")] = []
    with pytest.raises(NoOperator) as error:
        Ticket(simple(), make_ctx(directory)).start()
    assert str(error.value) == (
        "Nobody can handle step 'Check': business role 'test' has no members in business "
        "'game-a'. Ask an administrator to add members."
    )
    assert error.value.code == "no_operator"


def test_skip_passes_the_step(directory):
    directory.business_roles[("test", "game-a")] = []
    ticket = Ticket(simple({"on_unassigned": "skip"}), make_ctx(directory))
    ticket.start()
    assert ticket.of(NodeSkipped) == [
        NodeSkipped(
            "check",
            "nobody can handle it: business role 'test' has no members in business 'game-a'",
        )
    ]
    assert ticket.nodes == ["wrap"]


def test_skipped_approval_counts_as_approved(directory):
    defn = workflow(
        [START, approval("cab", {"type": "general_role", "role": "CAB"}), task("go"), END],
        chain("submit", "cab", "go", "done"),
        settings={"on_unassigned": "skip"},
    )
    ticket = Ticket(defn, make_ctx(directory))
    ticket.start()
    assert ticket.state["results"] == {"cab": "approved"}
    assert ticket.nodes == ["go"]


def test_node_setting_overrides_the_workflow(directory):
    directory.business_roles[("test", "game-a")] = []
    defn = simple({"on_unassigned": "skip"}, on_unassigned="fail")
    with pytest.raises(NoOperator):
        Ticket(defn, make_ctx(directory)).start()


def test_service_owner_fallback(directory):
    directory.business_roles[("test", "game-a")] = []
    defn = simple({"on_unassigned": "service_owner"})
    ticket = Ticket(defn, make_ctx(directory, service_owners=("owner_olga", "ann")))
    ticket.start()
    assert ticket.tasks[1]["candidates"] == ["owner_olga", "ann"]
    assert ticket.tasks[1]["sources"] == []
    with pytest.raises(NoOperator, match="and the service has no owners"):
        Ticket(defn, make_ctx(directory)).start()


def test_business_role_in_a_ticket_without_business(directory):
    with pytest.raises(NoOperator, match="needs a business and this ticket has none"):
        Ticket(simple(), make_ctx(directory, business=None)).start()


# --- withdraw -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "before", "after"),
    [("never", False, False), ("before_first_action", True, False), ("any_time", True, True)],
)
def test_withdraw_rules(directory, rule, before, after):
    ticket = Ticket(simple({"withdraw": rule}), make_ctx(directory))
    ticket.start()
    assert can_withdraw(ticket.defn, ticket.state, ticket.ctx, "pm_alice") is before
    ticket.complete("check", "test_bob")
    assert can_withdraw(ticket.defn, ticket.state, ticket.ctx, "pm_alice") is after
    if not after:
        with pytest.raises(NotAllowed):
            ticket.do("withdraw", actor="pm_alice")
        return
    ticket.do("withdraw", actor="pm_alice")
    assert ticket.effects == [
        TaskClosed(2, "wrap", "withdrawn", None),
        TicketEnded("withdrawn", "withdrawn by requester"),
    ]
    assert ticket.state["status"] == "withdrawn"


def test_requester_handling_a_step_does_not_block_withdraw(directory):
    ticket = Ticket(simple(None, {"type": "requester"}), make_ctx(directory))
    ticket.start()
    ticket.complete("check", "pm_alice")
    assert can_withdraw(ticket.defn, ticket.state, ticket.ctx, "pm_alice")


def test_only_the_requester_withdraws(directory):
    ticket = Ticket(simple(), make_ctx(directory))
    ticket.start()
    with pytest.raises(NotAllowed, match="Only the requester"):
        ticket.do("withdraw", actor="test_bob")


def test_withdraw_while_suspended(directory):
    ticket = Ticket(simple({"withdraw": "any_time"}), make_ctx(directory))
    ticket.start()
    ticket.do("suspend", actor="ops_carol")
    ticket.do("withdraw", actor="pm_alice")
    assert ticket.state["status"] == "withdrawn"
    assert not can_withdraw(ticket.defn, ticket.state, ticket.ctx, "pm_alice")


# --- suspend, resume, terminate -------------------------------------------------------------


def test_suspend_and_resume(directory):
    ticket = Ticket(simple(), make_ctx(directory))
    ticket.start()
    ticket.do("suspend", actor="ops_carol")
    assert ticket.effects == [StatusChanged("running", "suspended")]
    assert current_nodes(ticket.state) == ["check"]
    with pytest.raises(NotRunning) as error:
        ticket.complete("check", "test_bob")
    assert str(error.value) == "The ticket is suspended."
    with pytest.raises(NotRunning, match="already suspended"):
        ticket.do("suspend", actor="ops_carol")
    ticket.do("resume", actor="ops_carol")
    assert ticket.effects == [StatusChanged("suspended", "running")]
    with pytest.raises(NotRunning, match="not suspended"):
        ticket.do("resume", actor="ops_carol")
    ticket.complete("check", "test_bob")
    assert ticket.nodes == ["wrap"]


def test_terminate_closes_everything(directory):
    ticket = Ticket(simple(), make_ctx(directory))
    ticket.start()
    ticket.do("terminate", actor="admin")
    assert ticket.effects == [
        TaskClosed(1, "check", "terminated", None),
        TicketEnded("terminated", "terminated"),
    ]
    assert open_tasks(ticket.state) == {}
    for action in ("terminate", "suspend", "resume", "withdraw"):
        with pytest.raises(NotRunning) as error:
            ticket.do(action, actor="pm_alice")
        assert str(error.value) == "The ticket is terminated; nothing can be done on it."
    with pytest.raises(NotRunning, match="terminated"):
        ticket.do("complete", task=1, actor="test_bob", values={})


# --- stale tasks ----------------------------------------------------------------------------


def test_task_not_open_names_who_and_when(directory):
    ticket = Ticket(simple(), make_ctx(directory))
    ticket.start()
    ticket.complete("check", "test_bob")
    with pytest.raises(TaskNotOpen) as error:
        ticket.do("complete", task=1, actor="test_bob", values={})
    assert str(error.value) == "This task was already handled by test_bob at 2026-11-27T10:00:00Z."
    assert error.value.code == "conflict"
    assert (error.value.by, error.value.at, error.value.outcome) == (
        "test_bob", "2026-11-27T10:00:00Z", "completed",
    )  # fmt: skip
    with pytest.raises(TaskNotOpen, match="no such task"):
        ticket.do("complete", task=99, actor="test_bob", values={})


def test_cancelled_countersign_task_explains_itself(directory):
    defn = workflow(
        [START, approval("cab", users("ann", "ben"), mode="any"), task("go"), END],
        chain("submit", "cab", "go", "done"),
    )
    ticket = Ticket(defn, make_ctx(directory, now="2026-11-27T11:00:00Z"))
    ticket.start()
    ticket.approve("cab", "ann")
    with pytest.raises(TaskNotOpen) as error:
        ticket.do("approve", task=2, actor="ben")
    assert (
        str(error.value) == "This task was cancelled at 2026-11-27T11:00:00Z by an action of ann."
    )


# --- cost per step --------------------------------------------------------------------------


def test_state_does_not_grow_with_history(directory):
    fields = [{"key": "again", "type": "boolean", "label": "Again"}]
    defn = workflow(
        [START, task("work", fields=("again",)), approval("ok", users("ann", "ben"), mode="all"),
         gateway("more"), END],
        [*chain("submit", "work", "ok", "more"),
         {"from": "more", "to": "work", "when": {"field": "again", "op": "eq", "value": True}},
         {"from": "more", "to": "done", "default": True}],
        fields,
    )  # fmt: skip
    ticket = Ticket(defn, make_ctx(directory))
    ticket.start()
    sizes = []
    for _ in range(60):
        ticket.complete("work", "ann", again=True)
        ticket.approve("ok", "ann")
        ticket.approve("ok", "ben")
        sizes.append(len(json.dumps(ticket.state)))
    # only the task counter's digits may grow
    assert max(sizes[5:]) - min(sizes[5:]) <= 12


def test_a_gateway_routes_on_approval_results(directory):
    defn = workflow(
        [START, approval("cab", users("ann"), on_reject="branch"), gateway("after"),
         task("go"), task("fix"), END],
        [{"from": "submit", "to": "cab"},
         {"from": "cab", "to": "after", "outcome": "approved"},
         {"from": "cab", "to": "after", "outcome": "rejected"},
         {"from": "after", "to": "fix", "when": {"result": "cab", "op": "eq", "value": "rejected"}},
         {"from": "after", "to": "go", "default": True},
         *chain("go", "done"), *chain("fix", "done")],
    )  # fmt: skip
    ticket = Ticket(defn, make_ctx(directory))
    ticket.start()
    ticket.reject("cab", "ann")
    assert ticket.nodes == ["fix"]
