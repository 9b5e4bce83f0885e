"""1. Flowdesk's pure engine against SpiffWorkflow, side by side in one run.

The demo release process (submit, test pass, ops approve, release, QC) N times through each
engine, state serialised and restored between every two steps as a real system stores it:
json.dumps/json.loads for Flowdesk (its state is a JSON dict; the effects are serialised too,
since the service layer stores them as events), SpiffWorkflow's BpmnWorkflowSerializer for Spiff
executing bench/app-release.bpmn. Rounds alternate the two engines so noise hits both alike.

Then the cost of a step against the number of steps already taken: a 200-node workflow of
parallel branches, the same 200 nodes as one chain, and the release process looping (test
fails, resubmit) for many rounds.

    .venv/bin/python -m bench.engine_vs_spiff [--full]
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import yaml
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG as CAMUNDA_CONFIG
from SpiffWorkflow.util.task import TaskState

from bench.common import (
    EXAMPLE,
    STEPS,
    SUBMIT,
    TEST_FAIL,
    fmt,
    log,
    parse_mode,
    table,
    write_results,
)
from flowdesk import engine

BPMN = Path(__file__).with_name("app-release.bpmn")
NOW = "2026-11-27T10:00:00Z"
ACTORS = {"test": "test_bob", "ops": "ops_carol", "QC": "qc_c"}
SPIFF_VALUES = {"approve": {"coordinate_decision": "approved"}}
GROWTH_LIMIT = 1.5  # last-10% steps may cost at most this multiple of the first 10% (noise)
SPEED_GOAL = 10.0


class DictDirectory:
    """The demo people, in dicts (as tests/engine/conftest.py's FakeDirectory)."""

    roles = {
        ("product", "game-a"): ["pm_alice"],
        ("test", "game-a"): ["test_bob"],
        ("ops", "game-a"): ["ops_carol"],
    }
    general = {"QC": ["qc_c"]}
    people = {"pm_alice", "test_bob", "ops_carol", "qc_c", "ann"}

    def business_role_members(self, role: str, business: str) -> list[str]:
        return list(self.roles.get((role, business), []))

    def general_role_members(self, role: str) -> list[str]:
        return list(self.general.get(role, []))

    def manager_of(self, user: str) -> str | None:
        return None

    def existing_users(self, users: Iterable[str]) -> set[str]:
        return set(users) & self.people


CTX = engine.Context(now=NOW, requester="pm_alice", business="game-a", directory=DictDirectory())


# --- Flowdesk ------------------------------------------------------------------------------------


def store(result: engine.Result) -> str:
    """What the service layer writes: the state, and the effects (as history events)."""
    json.dumps([effect.to_json() for effect in result.effects])
    return json.dumps(result.state)


def flowdesk_step(defn: engine.Definition, stored: str, actor: str, action: str, values: dict):
    state = json.loads(stored)
    (task,) = engine.open_tasks(state)
    func = engine.approve if action == "approve" else engine.complete
    return pass_check(defn, store(func(defn, state, CTX, task=task, actor=actor, values=values)))


def flowdesk_submit(defn: engine.Definition) -> str:
    return pass_check(defn, store(engine.start(defn, CTX, actor="pm_alice", values=SUBMIT)))


def pass_check(defn: engine.Definition, stored: str) -> str:
    """The package checksum step passes, as the worker reports it. The BPMN model has no such
    step, so Flowdesk does one action (and one stored state) more per submit."""
    state = json.loads(stored)
    for task, record in engine.open_tasks(state).items():
        if defn.node(record["node"]).type == "automation":
            actor = engine.SYSTEM_ACTOR
            return store(engine.complete(defn, state, CTX, task=task, actor=actor, values={}))
    return stored


def flowdesk_release(defn: engine.Definition) -> None:
    stored = flowdesk_submit(defn)
    for role, action, values in STEPS:
        stored = flowdesk_step(defn, stored, ACTORS[role], action, values)
    assert json.loads(stored)["status"] == "finished"


# --- SpiffWorkflow -------------------------------------------------------------------------------

SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG))


def spiff_spec(path: Path | None = None, text: str | None = None, process: str = "app_release"):
    parser = CamundaParser()
    if text is not None:
        from lxml import etree

        parser.add_bpmn_xml(etree.fromstring(text.encode()), filename="generated.bpmn")
    else:
        parser.add_bpmn_file(str(path))
    return parser.get_spec(process)


def spiff_start(spec) -> str:
    workflow = BpmnWorkflow(spec)
    workflow.do_engine_steps()
    return SERIALIZER.serialize_json(workflow)


def spiff_step(stored: str, values: dict, pick: Callable | None = None) -> str:
    workflow = SERIALIZER.deserialize_json(stored)
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    task = pick(ready) if pick else ready[0]
    task.data.update(values)
    task.run()
    workflow.do_engine_steps()
    return SERIALIZER.serialize_json(workflow)


def spiff_release(spec) -> None:
    stored = spiff_step(spiff_start(spec), SUBMIT)
    for _role, action, values in STEPS:
        stored = spiff_step(stored, SPIFF_VALUES.get(action, values))
    assert SERIALIZER.deserialize_json(stored).is_completed()


# --- side by side --------------------------------------------------------------------------------


def release_side_by_side(rounds: int, batch: int) -> dict:
    defn = engine.Definition.from_document(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))
    spec = spiff_spec(BPMN)
    flowdesk_release(defn), spiff_release(spec)  # warm up both
    flowdesk_times, spiff_times, ratios = [], [], []
    for _ in range(rounds):
        f = per_call(lambda: flowdesk_release(defn), batch * 10)
        s = per_call(lambda: spiff_release(spec), batch)
        flowdesk_times.append(f)
        spiff_times.append(s)
        ratios.append(s / f)
    return {
        "rounds": rounds,
        "processes_per_round": {"flowdesk": batch * 10, "spiff": batch},
        "flowdesk_ms": statistics.median(flowdesk_times) * 1000,
        "spiff_ms": statistics.median(spiff_times) * 1000,
        "ratio_median": statistics.median(ratios),
        "ratio_min": min(ratios),
        "goal": SPEED_GOAL,
        # The median of interleaved rounds: a single round is at the mercy of the shared machine
        # (the worst round swings 6–12x from run to run with the code unchanged).
        "met": statistics.median(ratios) >= SPEED_GOAL,
        "stored_bytes": {"flowdesk": flowdesk_size(defn), "spiff": spiff_size(spec)},
    }


def per_call(func: Callable[[], None], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        func()
    return (time.perf_counter() - start) / n


def flowdesk_size(defn: engine.Definition) -> int:
    """Bytes stored at the release step (state only)."""
    stored = flowdesk_submit(defn)
    for role, action, values in STEPS[:2]:
        stored = flowdesk_step(defn, stored, ACTORS[role], action, values)
    return len(stored)


def spiff_size(spec) -> int:
    stored = spiff_step(spiff_start(spec), SUBMIT)
    for _role, action, values in STEPS[:2]:
        stored = spiff_step(stored, SPIFF_VALUES.get(action, values))
    return len(stored)


# --- growth: parallel branches -------------------------------------------------------------------


CHAIN = 196  # tasks in one branch: 200 nodes, as the parallel shape


def parallel_document(branches: int, length: int) -> dict:
    nodes = [{"id": "submit", "type": "start", "name": "Submit"}]
    nodes.append({"id": "split", "type": "parallel_split", "name": "split"})
    transitions = [{"from": "submit", "to": "split"}]
    for b in range(branches):
        previous = "split"
        for i in range(length):
            node = f"b{b}_t{i}"
            nodes.append(
                {
                    "id": node,
                    "type": "task",
                    "name": node,
                    "operators": [{"type": "users", "users": ["ann"]}],
                }
            )
            transitions.append({"from": previous, "to": node})
            previous = node
        transitions.append({"from": previous, "to": "join"})
    nodes += [
        {"id": "join", "type": "parallel_join", "name": "join"},
        {"id": "done", "type": "end", "name": "Done"},
    ]
    transitions.append({"from": "join", "to": "done"})
    return {
        "key": "wide",
        "name": "wide",
        "type": "change",
        "scope": "global",
        "nodes": nodes,
        "transitions": transitions,
    }


def parallel_bpmn(branches: int, length: int) -> str:
    """The same 200-node shape in BPMN: a parallel split, branches of user tasks, a join."""
    parts, flows = [], []

    def flow(source: str, target: str) -> None:
        flows.append(
            f'<bpmn:sequenceFlow id="f{len(flows)}" sourceRef="{source}" targetRef="{target}"/>'
        )

    parts.append('<bpmn:startEvent id="start"/><bpmn:userTask id="submit"/>')
    parts.append('<bpmn:parallelGateway id="split"/><bpmn:parallelGateway id="join"/>')
    parts.append('<bpmn:endEvent id="done"/>')
    flow("start", "submit")
    flow("submit", "split")
    for b in range(branches):
        previous = "split"
        for i in range(length):
            parts.append(f'<bpmn:userTask id="b{b}_t{i}"/>')
            flow(previous, f"b{b}_t{i}")
            previous = f"b{b}_t{i}"
        flow(previous, "join")
    flow("join", "done")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'id="wide-definitions" targetNamespace="https://flowdesk.example.com/bpmn">'
        '<bpmn:process id="wide" isExecutable="true">'
        + "".join(parts)
        + "".join(flows)
        + "</bpmn:process></bpmn:definitions>"
    )


def flowdesk_parallel(branches: int, length: int) -> list[float]:
    defn = engine.Definition.from_document(parallel_document(branches, length))
    ctx = engine.Context(now=NOW, requester="ann", business=None, directory=DictDirectory())
    stored = store(engine.start(defn, ctx, actor="ann", values={}))
    costs = []
    turn = 0
    while json.loads(stored)["status"] == "running":
        start = time.perf_counter()
        state = json.loads(stored)
        tasks = sorted(engine.open_tasks(state))
        task = tasks[turn % len(tasks)]  # round robin over the branches
        stored = store(engine.complete(defn, state, ctx, task=task, actor="ann", values={}))
        costs.append(time.perf_counter() - start)
        turn += 1
    return costs


def spiff_parallel(branches: int, length: int) -> list[float]:
    spec = spiff_spec(text=parallel_bpmn(branches, length), process="wide")
    stored = spiff_step(spiff_start(spec), {})  # the submit task
    costs = []
    turn = 0
    while True:
        start = time.perf_counter()
        workflow = SERIALIZER.deserialize_json(stored)
        if workflow.is_completed():
            break
        ready = sorted(
            workflow.get_tasks(state=TaskState.READY, manual=True), key=lambda t: t.task_spec.name
        )
        task = ready[turn % len(ready)]
        task.run()
        workflow.do_engine_steps()
        stored = SERIALIZER.serialize_json(workflow)
        costs.append(time.perf_counter() - start)
        turn += 1
    return costs


# --- growth: a loop for many rounds --------------------------------------------------------------


def flowdesk_loop(rounds: int) -> list[float]:
    """Cost of one loop round (test fails, resubmit), round after round."""
    defn = engine.Definition.from_document(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))
    stored = flowdesk_submit(defn)
    costs = []
    for _ in range(rounds):
        start = time.perf_counter()
        stored = flowdesk_step(defn, stored, "test_bob", "complete", TEST_FAIL)
        stored = flowdesk_step(defn, stored, "pm_alice", "complete", {})
        costs.append(time.perf_counter() - start)
    return costs


def spiff_loop(rounds: int) -> list[float]:
    spec = spiff_spec(BPMN)
    stored = spiff_step(spiff_start(spec), SUBMIT)
    costs = []
    for _ in range(rounds):
        start = time.perf_counter()
        stored = spiff_step(stored, TEST_FAIL)
        stored = spiff_step(stored, {})
        costs.append(time.perf_counter() - start)
    return costs


def growth(costs: list[float]) -> dict:
    tenth = max(1, len(costs) // 10)
    first = statistics.median(costs[:tenth])
    last = statistics.median(costs[-tenth:])
    return {
        "steps": len(costs),
        "first_10pct_ms": first * 1000,
        "last_10pct_ms": last * 1000,
        "growth": last / first,
    }


def main() -> None:
    args = parse_mode(__doc__)
    mode = "full" if args.full else "quick"
    rounds, batch = (20, 20) if args.full else (6, 5)
    loop_rounds = (2000, 300) if args.full else (300, 60)  # flowdesk, spiff
    log("release process, both engines, interleaved rounds…")
    release = release_side_by_side(rounds, batch)
    tables = [
        table(
            "Engine: the release process, per completed process (state stored between steps)",
            ["engine", "ms / process", "stored state at 'release' (bytes)"],
            [
                ["Flowdesk", release["flowdesk_ms"], release["stored_bytes"]["flowdesk"]],
                ["SpiffWorkflow", release["spiff_ms"], release["stored_bytes"]["spiff"]],
            ],
        ),
        table(
            "Engine: speed ratio (goal: Flowdesk >= 10x faster, median of the rounds)",
            ["rounds", "ratio median", "ratio worst round", "goal"],
            [[rounds, release["ratio_median"], release["ratio_min"], release["met"]]],
        ),
    ]
    log("200-node parallel workflow and long loops…")
    branches, length = 14, 14  # start + split + 196 tasks + join + end = 200 nodes
    shapes = {
        ("parallel 200 nodes", "Flowdesk"): growth(flowdesk_parallel(branches, length)),
        ("parallel 200 nodes", "SpiffWorkflow"): growth(spiff_parallel(branches, length)),
        # One branch: the open work stays one task from first step to last, so only what the
        # state keeps of the steps already taken can make a step dearer.
        ("chain 200 nodes", "Flowdesk"): growth(flowdesk_parallel(1, CHAIN)),
        ("chain 200 nodes", "SpiffWorkflow"): growth(spiff_parallel(1, CHAIN)),
        (f"loop x{loop_rounds[0]}", "Flowdesk"): growth(flowdesk_loop(loop_rounds[0])),
        (f"loop x{loop_rounds[1]}", "SpiffWorkflow"): growth(spiff_loop(loop_rounds[1])),
    }
    rows = []
    for (shape, who), g in shapes.items():
        met = g["growth"] <= GROWTH_LIMIT if who == "Flowdesk" else "-"
        row = [shape, who, g["steps"], g["first_10pct_ms"], g["last_10pct_ms"]]
        rows.append([*row, fmt(g["growth"]) + "x", met])
    tables.append(
        table(
            f"Engine: cost per step, first vs last 10% of steps (goal: growth <= {GROWTH_LIMIT}x)",
            ["workflow", "engine", "steps", "first 10% ms", "last 10% ms", "growth", "goal"],
            rows,
        )
    )
    data = {
        "release": release,
        "growth": [{"workflow": s, "engine": w, **g} for (s, w), g in shapes.items()],
    }
    write_results("engine", mode, data, tables)


if __name__ == "__main__":
    main()
