"""Approval steps: single, countersign modes × orders, values, and what happens on rejection."""

from __future__ import annotations

import pytest

from flowdesk.engine import (
    ApprovalDecided,
    InvalidValues,
    NodeCompleted,
    NotAllowed,
    Returned,
    TaskClosed,
    TaskOpened,
    TicketEnded,
)

from .conftest import END, START, Ticket, approval, chain, make_ctx, task, users, workflow

APPROVERS = ("ann", "ben", "cat", "dan")


def ballot_ticket(directory, **settings) -> Ticket:
    """go is for whoever voted on cab, so the state keeps cab's handlers."""
    voters = {"type": "node_handler", "node": "cab"}
    defn = workflow(
        [START, approval("cab", users(*APPROVERS), **settings), task("go", voters), END],
        chain("submit", "cab", "go", "done"),
    )
    ticket = Ticket(defn, make_ctx(directory))
    ticket.start()
    return ticket


# (rules, votes in approver order, index of the deciding vote, result)
CASES = [
    ({"mode": "any"}, "rra", 2, "approved"),
    ({"mode": "any"}, "rrrr", 3, "rejected"),
    ({"mode": "all"}, "aar", 2, "rejected"),
    ({"mode": "all"}, "aaaa", 3, "approved"),
    ({"mode": "quorum", "quorum": 2}, "ara", 2, "approved"),
    ({"mode": "quorum", "quorum": 2}, "rrr", 2, "rejected"),
    ({"mode": "quorum", "quorum": 9}, "aaar", 3, "rejected"),
    ({"mode": "percentage", "percentage": 60}, "aara", 3, "approved"),
    ({"mode": "percentage", "percentage": 60}, "rr", 1, "rejected"),
    ({"mode": "percentage", "percentage": 50}, "raa", 2, "approved"),
    ({"mode": "percentage", "percentage": 100}, "aaar", 3, "rejected"),
]


@pytest.mark.parametrize("order", ["parallel", "sequential"])
@pytest.mark.parametrize(("rules", "votes", "decider", "result"), CASES)
def test_countersign_decides_at_the_right_moment(directory, order, rules, votes, decider, result):
    ticket = ballot_ticket(directory, order=order, **rules)
    opened = [(t["assignee"], t["candidates"]) for t in ticket.tasks.values()]
    if order == "parallel":
        assert opened == [(user, [user]) for user in APPROVERS]
    else:
        assert opened == [("ann", ["ann"])]
    for i, vote in enumerate(votes):
        user = APPROVERS[i]
        if order == "sequential":
            assert [t["assignee"] for t in ticket.tasks.values()] == [user]
        (ticket.approve if vote == "a" else ticket.reject)("cab", user)
        decided = ApprovalDecided("cab", result) in ticket.effects
        assert decided is (i == decider), f"vote {i} ({vote})"
    assert ticket.state["results"] == {"cab": result}
    assert ticket.state["handlers"]["cab"] == list(APPROVERS[: decider + 1])
    assert "cab" not in ticket.state["approvals"]
    cancelled = [e.task for e in ticket.of(TaskClosed) if e.outcome == "cancelled"]
    if order == "parallel":
        assert len(cancelled) == len(APPROVERS) - decider - 1
    else:
        assert cancelled == []
    if result == "approved":
        assert ticket.nodes == ["go"]
    else:
        assert ticket.state["status"] == "terminated"


def test_sequential_asks_in_operator_order(directory):
    ticket = ballot_ticket(directory, mode="all", order="sequential")
    ticket.approve("cab", "ann")
    assert ticket.effects[-1] == TaskOpened(2, "cab", "ben", ("ben",), (), False)
    assert ticket.nodes == ["cab"]


def test_single_mode_is_one_pool_task(directory):
    ticket = ballot_ticket(directory)
    assert ticket.tasks == {
        1: {
            "node": "cab",
            "assignee": None,
            "candidates": list(APPROVERS),
            "sources": [],
            "claim": False,
            "opened_at": "2026-11-27T10:00:00Z",
            "activation": 1,
        }
    }
    ticket.approve("cab", "cat")
    assert ticket.state["handlers"]["cab"] == ["cat"]
    assert ticket.nodes == ["go"]


def test_countersign_values_are_gathered_into_one_snapshot(directory):
    fields = [
        {"key": "note", "type": "text", "label": "Note"},
        {"key": "score", "type": "integer", "label": "Score"},
    ]
    defn = workflow(
        [START, approval("cab", users("ann", "ben"), mode="all", fields=("note", "score")), END],
        chain("submit", "cab", "done"),
        fields,
    )
    ticket = Ticket(defn, make_ctx(directory))
    ticket.start()
    ticket.approve("cab", "ann", note="fine", score=3)
    assert ticket.of(NodeCompleted) == []
    assert ticket.state["values"]["note"] == "fine"
    ticket.approve("cab", "ben", score="5")
    assert ticket.of(NodeCompleted) == [
        NodeCompleted(
            "cab", "ben", {"note": "fine", "score": 5}, {"note": [None, "fine"], "score": [None, 5]}
        )
    ]


def test_approve_requires_values_reject_does_not(directory):
    fields = [{"key": "reason", "type": "text", "label": "Reason", "required": True}]
    defn = workflow(
        [START, approval("cab", users("ann"), fields=("reason",), on_reject="branch"),
         task("go"), task("fix"), END],
        [{"from": "submit", "to": "cab"},
         {"from": "cab", "to": "go", "outcome": "approved"},
         {"from": "cab", "to": "fix", "outcome": "rejected"},
         {"from": "go", "to": "done"}, {"from": "fix", "to": "done"}],
        fields,
    )  # fmt: skip
    ticket = Ticket(defn, make_ctx(directory))
    ticket.start()
    with pytest.raises(InvalidValues) as error:
        ticket.approve("cab", "ann")
    assert error.value.errors == {"reason": ["This field is required."]}
    ticket.reject("cab", "ann")
    assert ticket.nodes == ["fix"]


def test_on_reject_branch_follows_outcomes(directory):
    doc_nodes = [START, approval("cab", users("ann"), on_reject="branch"), task("go"),
                 task("fix"), END]  # fmt: skip
    transitions = [
        {"from": "submit", "to": "cab"},
        {"from": "cab", "to": "fix", "outcome": "rejected"},
        {"from": "cab", "to": "go", "outcome": "approved"},
        {"from": "go", "to": "done"},
        {"from": "fix", "to": "done"},
    ]
    for decide, expected in (("approve", "go"), ("reject", "fix")):
        ticket = Ticket(workflow(doc_nodes, transitions), make_ctx(directory))
        ticket.start()
        getattr(ticket, decide)("cab", "ann")
        assert ticket.nodes == [expected]


def test_on_reject_return_goes_back_with_values_kept(directory):
    fields = [{"key": "plan", "type": "text", "label": "Plan", "required": True}]
    defn = workflow(
        [START, task("prep", fields=("plan",)),
         approval("cab", users("ann", "ben"), mode="all", on_reject="return", return_to="prep"),
         END],
        chain("submit", "prep", "cab", "done"),
        fields,
    )  # fmt: skip
    ticket = Ticket(defn, make_ctx(directory))
    ticket.start()
    ticket.complete("prep", "ann", plan="v1")
    ticket.approve("cab", "ann")
    ticket.reject("cab", "ben")
    assert ticket.kinds() == [
        "task_closed", "node_completed", "approval_decided", "returned", "task_opened",
    ]  # fmt: skip
    assert Returned("cab", "prep", "ben") in ticket.effects
    assert ticket.nodes == ["prep"]
    assert ticket.state["values"]["plan"] == "v1"
    ticket.complete("prep", "ann")  # the kept value satisfies `required`
    assert len(ticket.tasks) == 2  # a fresh ballot
    assert ticket.state["results"] == {"cab": "rejected"}


def test_on_reject_terminate_ends_the_ticket(directory):
    ticket = ballot_ticket(directory, mode="all")
    ticket.reject("cab", "ben")
    assert ticket.effects[-1] == TicketEnded("terminated", "rejected at cab")
    assert ticket.state["status"] == "terminated"
    assert ticket.tasks == {}
    assert [e.outcome for e in ticket.of(TaskClosed)] == [
        "rejected", "cancelled", "cancelled", "cancelled",
    ]  # fmt: skip


def test_actions_must_fit_the_node(directory):
    ticket = ballot_ticket(directory)
    with pytest.raises(NotAllowed, match="is an approval: approve or reject it"):
        ticket.do("complete", node="cab", actor="ann", values={})
    ticket.approve("cab", "ann")
    with pytest.raises(NotAllowed, match="is not an approval"):
        ticket.do("approve", node="go", actor="ann")


def test_duplicate_candidates_get_one_task(directory):
    defn = workflow(
        [START, approval("cab", users("ann", "ben"), users("ben", "ann"), mode="all"), END],
        chain("submit", "cab", "done"),
    )
    ticket = Ticket(defn, make_ctx(directory))
    ticket.start()
    assert [t["assignee"] for t in ticket.tasks.values()] == ["ann", "ben"]
