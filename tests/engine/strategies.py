"""Hypothesis strategies: random valid block-structured workflows.

A workflow is `submit → <sequence> → done`. A sequence holds 1-3 items; an item is a task, an
approval (random mode, order and on_reject), a system step (a timer, or an automation whose
failure waits or returns; with or without operators to step in), an if/else choice, a loop (a
head task whose field decides, at a gateway after the body, whether to go round again) or a
parallel block of 2-3 branches (each a sequence, or occasionally empty). Every item has one
entry and one exit, so each branch reaches its join by exactly one transition, as validation
demands (paths of a choice or of an approval's branch outcomes meet again at a task).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from flowdesk.engine import Definition

POOL = ("ann", "ben", "cat", "dan", "eve")
MODES = ("single", "any", "all", "quorum", "percentage")

task_items = st.tuples(st.just("task"), st.booleans(), st.booleans())  # (kind, skip, required)
approval_items = st.tuples(
    st.just("approval"),
    st.sampled_from(MODES),
    st.integers(1, 4),  # approvers
    st.integers(1, 5),  # quorum
    st.integers(1, 100),  # percentage
    st.sampled_from(("parallel", "sequential")),
    st.sampled_from(("terminate", "return", "branch")),
    st.integers(0, 20),  # which earlier node a return goes to
)
system_items = st.tuples(
    st.just("system"),
    st.sampled_from(("timer", "automation")),
    st.sampled_from(("wait", "return")),  # an automation's on_failure
    st.integers(0, 20),  # which earlier node a failure returns to
    st.booleans(),  # operators who may step in
)


def _blocks(children: st.SearchStrategy) -> st.SearchStrategy:
    seq = st.lists(children, min_size=1, max_size=3)
    return st.one_of(
        st.tuples(st.just("choice"), seq, seq),
        st.tuples(st.just("loop"), seq),
        st.tuples(st.just("parallel"), st.lists(seq, min_size=2, max_size=3), st.booleans()),
    )


items = st.recursive(st.one_of(task_items, approval_items, system_items), _blocks, max_leaves=10)
sequences = st.lists(items, min_size=1, max_size=3)


Way = tuple[str, dict]  # a transition still to be drawn: its source and its extra keys


@dataclass
class _Builder:
    nodes: list[dict] = field(default_factory=list)
    transitions: list[dict] = field(default_factory=list)
    fields: list[dict] = field(default_factory=list)
    start_fields: list[str] = field(default_factory=list)
    count: int = 0

    def new(self, prefix: str, kind: str, **node: Any) -> str:
        self.count += 1
        node_id = f"{prefix}{self.count}"
        self.nodes.append({"id": node_id, "type": kind, "name": node_id, **node})
        return node_id

    def link(self, way: Way, target: str) -> None:
        self.transitions.append({"from": way[0], "to": target, **way[1]})

    def sequence(self, seq: list, way: Way, earlier: list[str]) -> Way:
        """Compile items, entering by `way`; return the way out of the last one.

        `earlier` collects human nodes a later approval may return to."""
        for item in seq:
            way = getattr(self, "_" + item[0])(item, way, earlier)
        return way

    def _task(self, item: tuple, way: Way, earlier: list[str]) -> Way:
        _, skip, required = item
        key = f"note_{self.count + 1}"
        self.fields.append({"key": key, "type": "text", "label": key, "required": required})
        if skip:
            extra = {"operators": [{"type": "general_role", "role": "nobody"}],
                     "on_unassigned": "skip"}  # fmt: skip
        else:
            extra = {"operators": [{"type": "users", "users": list(POOL[:2])}]}
        node_id = self.new("t", "task", fields=[key], **extra)
        self.link(way, node_id)
        earlier.append(node_id)
        return node_id, {}

    def _approval(self, item: tuple, way: Way, earlier: list[str]) -> Way:
        _, mode, approvers, quorum, percentage, order, on_reject, pick = item
        settings: dict = {"mode": mode, "order": order, "on_reject": on_reject}
        if mode == "quorum":
            settings["quorum"] = quorum
        if mode == "percentage":
            settings["percentage"] = percentage
        if on_reject == "return":
            settings["return_to"] = earlier[pick % len(earlier)]
        operators = [{"type": "users", "users": list(POOL[:approvers])}]
        node_id = self.new("a", "approval", approval=settings, operators=operators)
        self.link(way, node_id)
        earlier.append(node_id)
        if on_reject != "branch":
            return node_id, {}
        merge = self._merge()
        rework = self.new("r", "task", operators=[{"type": "users", "users": ["cat"]}])
        self.link((node_id, {"outcome": "approved"}), merge)
        self.link((node_id, {"outcome": "rejected"}), rework)
        self.link((rework, {}), merge)
        return merge, {}

    def _system(self, item: tuple, way: Way, earlier: list[str]) -> Way:
        _, kind, on_failure, pick, staffed = item
        node: dict[str, Any] = (
            {"operators": [{"type": "users", "users": ["eve"]}]} if staffed else {}
        )
        if kind == "timer":
            node["timer"] = {"after": "1h"}
        else:
            node["automation"] = {"action": "http", "request": {"url": "https://ci.example/run"},
                                  "on_failure": on_failure}  # fmt: skip
            if on_failure == "return":
                node["automation"]["return_to"] = earlier[pick % len(earlier)]
        node_id = self.new("y", kind, **node)
        self.link(way, node_id)
        return node_id, {}

    def _choice(self, item: tuple, way: Way, earlier: list[str]) -> Way:
        _, first, second = item
        gate = self.new("c", "exclusive")
        key = f"choose_{gate}"
        self.fields.append({"key": key, "type": "boolean", "label": key})
        self.start_fields.append(key)
        self.link(way, gate)
        merge = self._merge()
        when = {"field": key, "op": "eq", "value": True}
        for branch, extra in ((first, {"when": when}), (second, {"default": True})):
            self.link(self.sequence(branch, (gate, extra), list(earlier)), merge)
        return merge, {}

    def _merge(self) -> str:
        # paths meet at a task: validation wants every exclusive gateway to have a condition
        return self.new("m", "task", operators=[{"type": "users", "users": ["eve"]}])

    def _loop(self, item: tuple, way: Way, earlier: list[str]) -> Way:
        _, body = item
        key = f"again_{self.count + 1}"
        self.fields.append({"key": key, "type": "select", "label": key, "options": ["yes", "no"]})
        head = self.new("h", "task", fields=[key], operators=[{"type": "users", "users": ["dan"]}])
        self.link(way, head)
        earlier.append(head)
        gate = self.new("l", "exclusive")
        self.link(self.sequence(body, (head, {}), earlier), gate)
        self.link((gate, {"when": {"field": key, "op": "eq", "value": "yes"}}), head)
        return gate, {"default": True}

    def _parallel(self, item: tuple, way: Way, earlier: list[str]) -> Way:
        _, branches, empty_branch = item
        split = self.new("s", "parallel_split")
        join = self.new("j", "parallel_join")
        self.link(way, split)
        inside: list[str] = []
        for branch in branches:
            mine = list(earlier)
            self.link(self.sequence(branch, (split, {}), mine), join)
            inside += mine[len(earlier) :]
        if empty_branch:
            self.link((split, {}), join)
        earlier.extend(inside)  # returning into a finished block is allowed
        return join, {}


def build(seq: list) -> dict:
    builder = _Builder()
    builder.nodes.append({"id": "submit", "type": "start", "name": "Submit"})
    way = builder.sequence(seq, ("submit", {}), ["submit"])
    builder.nodes.append({"id": "done", "type": "end", "name": "Done"})
    builder.link(way, "done")
    builder.nodes[0]["fields"] = builder.start_fields
    doc = {
        "key": "generated",
        "name": "Generated",
        "type": "change",
        "scope": "global",
        "fields": builder.fields,
        "nodes": builder.nodes,
        "transitions": builder.transitions,
    }
    _only_returns_validation_accepts(doc)
    return doc


def _only_returns_validation_accepts(doc: dict) -> None:
    """A rejection (or failure) may return within its branch, out of its block, or into a
    block it comes after; not into a different block of the same region (the engine copes,
    validation refuses). Such picks go back to submit instead."""
    contexts = Definition.from_document(doc).contexts
    for node in doc["nodes"]:
        options = node.get("approval") or node.get("automation") or {}
        target = options.get("return_to")
        if target:
            here, there = contexts[node["id"]], contexts[target]
            if here[: len(there)] != there and there[: len(here)] != here:
                options["return_to"] = "submit"


workflows = sequences.map(build)
