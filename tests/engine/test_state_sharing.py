"""Each action works on a fork of the state that shares what it does not change: no action may
change any state handed out before, and `closed` does not grow with the steps taken."""

from __future__ import annotations

import copy
import json

import pytest

from flowdesk import engine
from flowdesk.engine import SYSTEM_ACTOR, TaskNotOpen

from .conftest import (
    END,
    START,
    Ticket,
    approval,
    automation,
    chain,
    gateway,
    make_ctx,
    task,
    users,
    workflow,
)


class Recorder(Ticket):
    """A ticket that keeps every state the engine returned, with a deep copy to compare."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.history: list[tuple[dict, dict]] = []

    def _take(self, result: engine.Result) -> engine.Result:
        self.history.append((result.state, copy.deepcopy(result.state)))
        return super()._take(result)

    def assert_history_untouched(self) -> None:
        for step, (state, snapshot) in enumerate(self.history):
            assert state == snapshot, f"a later action changed the state of step {step}"


@pytest.fixture
def wide(directory) -> Recorder:
    """submit → split → (a | cab, all of ann, ben, cat) → join → deploy → fix → done"""
    defn = workflow(
        [START, gateway("split", "parallel_split"), task("a"),
         approval("cab", users("ann", "ben", "cat"), mode="all"),
         gateway("join", "parallel_join"), automation("deploy", users("ann")), task("fix"), END],
        [*chain("submit", "split", "a", "join"), *chain("split", "cab", "join"),
         *chain("join", "deploy", "fix", "done")],
    )  # fmt: skip
    ticket = Recorder(defn, make_ctx(directory))
    ticket.start()
    return ticket


def test_no_action_changes_a_state_handed_out_before(wide: Recorder):
    wide.complete("a", "ann")  # a join arrival
    wide.approve("cab", "ann")  # a ballot vote
    wide.approve("cab", "ben")
    wide.approve("cab", "cat")  # the join fires
    wide.do("fail_automation", node="deploy", reason="HTTP 503")
    wide.do("complete", node="deploy", actor=SYSTEM_ACTOR, values={})
    wide.do("return_to", node="fix", actor="ann", target="a")  # the cab branch counts as arrived
    wide.do("suspend", actor="ops_carol")
    wide.do("resume", actor="ops_carol")
    wide.complete("a", "ann")
    wide.do("terminate", actor="ops_carol")
    wide.assert_history_untouched()
    assert wide.state["status"] == "terminated"


def test_withdraw_leaves_the_submitted_state_alone(wide: Recorder):
    wide.do("withdraw", actor="pm_alice")
    wide.assert_history_untouched()


def test_closed_keeps_the_last_action_and_steps_still_open(wide: Recorder):
    anns, bens = wide.task_of("cab", "ann"), wide.task_of("cab", "ben")
    wide.approve("cab", "ann")
    wide.complete("a", "ann")  # closes a task of another step: cab is still open
    with pytest.raises(TaskNotOpen, match="already handled by ann at"):
        wide.do("approve", task=anns, actor="ann")
    wide.approve("cab", "ben")
    assert set(wide.state["closed"]) == {"cab"}  # a's record went with this action's close
    with pytest.raises(TaskNotOpen, match="already handled by ben at"):
        wide.do("approve", task=bens, actor="ben")


def test_a_late_click_after_another_action_is_told_the_task_is_gone(directory):
    defn = workflow([START, task("a"), task("b"), task("c"), END], chain("submit", *"abc", "done"))
    ticket = Ticket(defn, make_ctx(directory))
    ticket.start()
    first = ticket.task_at("a")
    ticket.complete("a", "ann")
    ticket.complete("b", "ann")
    with pytest.raises(TaskNotOpen, match="no longer open"):
        ticket.do("complete", task=first, actor="ann", values={})


def test_an_old_state_with_every_closed_record_shrinks_on_its_next_action(directory):
    defn = workflow([START, task("a"), task("b"), task("c"), END], chain("submit", *"abc", "done"))
    ticket = Ticket(defn, make_ctx(directory))
    ticket.start()
    ticket.complete("a", "ann")
    ticket.complete("b", "ann")
    old = copy.deepcopy(ticket.state)  # as stored before: records of long-finished steps too
    old["closed"]["a"] = {"1": {"by": "ann", "at": "2026-11-27T09:00:00Z", "outcome": "completed"}}
    with pytest.raises(TaskNotOpen, match="already handled by ann at 2026-11-27T09:00:00Z"):
        engine.complete(defn, old, ticket.ctx, task=1, actor="ann", values={})
    result = engine.complete(
        defn, old, ticket.ctx, task=ticket.task_at("c"), actor="ann", values={}
    )
    assert list(result.state["closed"]) == ["c"]


def test_state_stays_bounded_on_a_long_acyclic_run(directory):
    """Only the list of visited steps may grow: nothing reads these steps' handlers."""
    steps = [f"s{i}" for i in range(80)]
    defn = workflow([START, *(task(step) for step in steps), END], chain("submit", *steps, "done"))
    ticket = Ticket(defn, make_ctx(directory))
    ticket.start()
    sizes = []
    for step in steps[:-1]:
        ticket.complete(step, "ann")
        rest = {key: value for key, value in ticket.state.items() if key != "visited"}
        rest["tasks"] = {"open": [record["node"] for record in rest["tasks"].values()]}
        sizes.append(len(json.dumps(rest)))
        assert len(ticket.state["closed"]) == 1
    assert max(sizes[10:]) - min(sizes[10:]) <= 12  # the step names' and counter's digits


def test_the_state_keeps_the_handlers_only_of_steps_something_reads(directory):
    """A `node_handler` operator (a step's or an SLA escalation's) reads `handlers`, separation
    of duties reads both maps; the handlers of any other step are not kept."""
    after = {"type": "node_handler", "node": "a"}
    escalation = {"due": "1h", "escalate_to": [{"type": "node_handler", "node": "c"}]}
    defn = workflow(
        [START, task("a"), approval("b", users("ann", "ben")), task("c"),
         task("d", after, sla=escalation), task("e", separate_from=["b"]), END],
        chain("submit", *"abcde", "done"),
    )  # fmt: skip
    ticket = Ticket(defn, make_ctx(directory))
    ticket.start()
    ticket.complete("a", "ann")
    ticket.approve("b", "ben")
    ticket.complete("c", "ann")
    ticket.complete("d", "ann")
    ticket.complete("e", "ann")
    assert ticket.state["handlers"] == {"a": ["ann"], "b": ["ben"], "c": ["ann"], "e": ["ann"]}
    assert ticket.state["handled_by"] == {"b": ["ben"], "e": ["ann"]}


def test_a_node_handler_operator_reads_the_latest_visit(directory):
    defn = workflow(
        [START, task("a", users("ann", "ben")), task("b", {"type": "node_handler", "node": "a"}),
         END],
        chain("submit", "a", "b", "done"),
    )  # fmt: skip
    ticket = Ticket(defn, make_ctx(directory))
    ticket.start()
    ticket.complete("a", "ann")
    assert ticket.tasks[ticket.task_at("b")]["candidates"] == ["ann"]
    ticket.do("return_to", node="b", actor="ann", target="a")
    ticket.complete("a", "ben")
    assert ticket.tasks[ticket.task_at("b")]["candidates"] == ["ben"]
