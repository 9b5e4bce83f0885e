"""Property-based tests: random block-structured workflows driven by random actions.

After every action the engine must keep its promises: a live ticket waits at an open task (of a
human or a system step) and an ended one has none; each sequential region of the workflow holds
at most one token (so no join fires twice and no return leaves a stray task behind); effects
describe exactly how the open tasks changed; the state survives JSON and the input is never
touched. Finally, whatever happened, approving and completing everything finishes the ticket.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowdesk import engine
from flowdesk.engine import (
    SYSTEM_ACTOR,
    Definition,
    InvalidValues,
    NotAllowed,
    NotRunning,
    TaskClosed,
    TaskOpened,
)
from flowdesk.engine._machine import Run

from .conftest import FakeDirectory, make_ctx
from .strategies import POOL, workflows

LIVE = {"running", "suspended"}
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _directory() -> FakeDirectory:
    directory = FakeDirectory()
    directory.extra_users |= set(POOL)
    return directory


def _values(defn: Definition, node_id: str, data: st.DataObject) -> dict:
    values = {}
    for key in defn.node(node_id).fields:
        kind = defn.fields[key]["type"]
        choices = {"boolean": [True, False], "select": ["yes", "no", "no"]}.get(kind, ["ok", ""])
        if data.draw(st.booleans(), label=f"fill {key}"):
            values[key] = data.draw(st.sampled_from(choices), label=key)
    return values


def _act(defn, state, ctx, data) -> engine.Result:
    """One random action. Refusals a person can cause (bad values, a rule, a suspended ticket)
    are fine; any other error is a bug."""
    what = data.draw(st.sampled_from(["task"] * 24 + ["suspend", "resume", "withdraw", "end"]))
    if what == "suspend":
        return engine.suspend(defn, state, ctx, actor="ops")
    if what == "resume":
        return engine.resume(defn, state, ctx, actor="ops")
    if what == "withdraw":
        return engine.withdraw(defn, state, ctx, actor=ctx.requester)
    if what == "end":
        return engine.terminate(defn, state, ctx, actor="ops")
    tasks = engine.open_tasks(state)
    task_id = data.draw(st.sampled_from(sorted(tasks)), label="task")
    record = tasks[task_id]
    actor = record["assignee"] or next(iter(record["candidates"]), SYSTEM_ACTOR)
    if defn.node(record["node"]).system:
        return _system_step(defn, state, ctx, task_id, actor, data)
    targets = engine.return_targets(defn, state, task_id)
    if targets and data.draw(st.integers(0, 9)) == 0:
        target = data.draw(st.sampled_from(targets), label="return to")
        return engine.return_to(defn, state, ctx, task=task_id, actor=actor, target=target)
    values = _values(defn, record["node"], data)
    if defn.node(record["node"]).type != "approval":
        return engine.complete(defn, state, ctx, task=task_id, actor=actor, values=values)
    decide = data.draw(st.sampled_from([engine.approve, engine.approve, engine.reject]))
    return decide(defn, state, ctx, task=task_id, actor=actor, values=values)


def _system_step(defn, state, ctx, task_id: int, operator: str, data) -> engine.Result:
    """The system completes the step or (an automation) fails; or an operator steps in."""
    node = defn.node(engine.open_tasks(state)[task_id]["node"])
    choices = ["system", "system", "by hand"] + (["fail"] if node.automation else [])
    what = data.draw(st.sampled_from(choices), label="system step")
    if what == "fail":
        return engine.fail_automation(defn, state, ctx, task=task_id, reason="HTTP 500")
    actor = operator if what == "by hand" else SYSTEM_ACTOR
    return engine.complete(defn, state, ctx, task=task_id, actor=actor, values={})


def _check(defn: Definition, before: dict, result: engine.Result) -> None:
    state = result.state
    assert json.loads(json.dumps(state)) == state
    for effect in result.effects:
        json.dumps(effect.to_json())
    tasks = engine.open_tasks(state)
    if state["status"] in LIVE:
        assert tasks, "a live ticket must wait at an open task"
    else:
        assert not tasks, "an ended ticket keeps no open task"
    _check_effects_match_tasks(before, state, result.effects)
    _check_one_token_per_region(defn, tasks)
    for join, arrived in state["joins"].items():
        incoming = {t.index for t in defn.incoming[join]}
        assert set(arrived) < incoming and len(set(arrived)) == len(arrived)


def _check_effects_match_tasks(before: dict, state: dict, effects: list) -> None:
    opened = [e.task for e in effects if isinstance(e, TaskOpened)]
    closed = [e.task for e in effects if isinstance(e, TaskClosed)]
    assert len(set(opened)) == len(opened) and len(set(closed)) == len(closed)
    assert all(task >= before.get("next_task", 1) for task in opened)
    previous = set(engine.open_tasks(before)) if before else set()
    assert set(closed) <= previous | set(opened)
    assert set(engine.open_tasks(state)) == (previous | set(opened)) - set(closed)


def _check_one_token_per_region(defn: Definition, tasks: dict[int, dict]) -> None:
    """Open nodes' block contexts form an antichain: no two nodes share a region, and no node
    is open in a region while a block inside it is still running."""
    nodes = {record["node"] for record in tasks.values()}
    for node in nodes:
        assert defn.node(node).human or defn.node(node).system
        mine = defn.contexts[node]
        for other in nodes - {node}:
            theirs = defn.contexts[other]
            assert theirs[: len(mine)] != mine, f"{node} and {other} are both open"
    for node in nodes:
        records = [record for record in tasks.values() if record["node"] == node]
        approval = defn.node(node).approval
        if approval is None or not approval.countersign:
            assert len(records) == 1, f"{node} has {len(records)} open tasks"
        else:
            assignees = [record["assignee"] for record in records]
            assert None not in assignees and len(set(assignees)) == len(assignees)


@contextmanager
def _watching_joins() -> Iterator[None]:
    """A token must never reach a join twice by the same transition before the join fires:
    that would be a duplicate token (a join fired twice upstream, or a stray branch)."""
    original = Run._join

    def checked(self: Run, node, arrival):
        arrived = self.state["joins"].get(node.id, [])
        assert arrival.index not in arrived, (
            f"a second token reached {node.id} from {arrival.source}"
        )
        return original(self, node, arrival)

    with patch.object(Run, "_join", checked):
        yield


def _finish(defn: Definition, state: dict, ctx) -> dict:
    """Approve and complete everything (loops told to stop): the ticket must finish."""
    if state["status"] == "suspended":
        state = engine.resume(defn, state, ctx, actor="ops").state
    for _ in range(500):
        if state["status"] not in LIVE:
            return state
        task_id, record = next(iter(engine.open_tasks(state).items()))
        node = defn.node(record["node"])
        values = {
            key: {"select": "no", "boolean": False}.get(defn.fields[key]["type"], "done")
            for key in node.fields
        }
        actor = SYSTEM_ACTOR if node.system else record["assignee"] or record["candidates"][0]
        action = engine.approve if node.type == "approval" else engine.complete
        # The requester may be the only approver of a step: act as an overriding admin would.
        result = action(defn, state, ctx, task=task_id, actor=actor, values=values, override=True)
        _check(defn, state, result)
        state = result.state
    raise AssertionError("the ticket did not finish")


@pytest.mark.slow
@SETTINGS
@given(doc=workflows, data=st.data())
def test_random_runs_keep_the_engine_promises(doc, data):
    with _watching_joins():
        _random_run(doc, data)


def _random_run(doc: dict, data: st.DataObject) -> None:
    defn = Definition.from_document(doc)
    ctx = make_ctx(_directory(), requester="ann", business=None)
    start_values = _values(defn, defn.start, data)
    result = engine.start(defn, ctx, actor="ann", values=start_values)
    _check(defn, {}, result)
    state = result.state
    for _ in range(data.draw(st.integers(0, 40), label="steps")):
        if state["status"] not in LIVE:
            break
        before = copy.deepcopy(state)
        try:
            result = _act(defn, state, ctx, data)
        except (InvalidValues, NotAllowed, NotRunning):
            assert state == before
            continue
        assert state == before, "the engine mutated the state passed in"
        _check(defn, before, result)
        state = result.state
    if state["status"] in LIVE:
        assert _finish(defn, state, ctx)["status"] == "finished"


@pytest.mark.slow
@SETTINGS
@given(doc=workflows)
def test_generated_workflows_finish_when_everyone_approves(doc):
    defn = Definition.from_document(doc)
    ctx = make_ctx(_directory(), requester="ann", business=None)
    values = {key: False for key in defn.node(defn.start).fields}
    with _watching_joins():
        result = engine.start(defn, ctx, actor="ann", values=values)
        _check(defn, {}, result)
        final = _finish(defn, result.state, ctx)
    assert final["status"] == "finished"
    assert final["tasks"] == {} and final["joins"] == {} and final["approvals"] == {}


@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=workflows)
def test_generated_workflows_pass_validation(doc):
    """The engine is tested on documents the validator accepts, not on a private dialect."""
    validation = pytest.importorskip("flowdesk.engine.validation")
    assert validation.validate_document(doc) == []
