"""The shape of the graph: ways out of each node, reachability, loops without a human step;
parallel blocks are checked in `blocks`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flowdesk.engine.definition import HUMAN_NODE_TYPES, NODE_TYPES, SYSTEM_NODE_TYPES

from .blocks import check_blocks
from .context import Doc
from .problems import Loc, article, one_of

_GATEWAYS = frozenset({"exclusive", "parallel_split", "parallel_join"})
_STEPS = HUMAN_NODE_TYPES | SYSTEM_NODE_TYPES  # where a token waits for an action
# nodes that may go back: the key that says so and its choices (the default first)
_RETURNS = {
    "approval": ("on_reject", ("terminate", "branch", "return")),
    "automation": ("on_failure", ("wait", "return")),
}


def graph_ready(d: Doc) -> bool:
    """Whether nodes and transitions are shaped well enough to reason about the graph."""
    nodes, transitions = d.data.get("nodes"), d.data.get("transitions")
    if not isinstance(nodes, list) or not isinstance(transitions, list):
        return False
    return all(map(_node_ready, nodes)) and all(map(_transition_ready, transitions))


def _node_ready(node: object) -> bool:
    if not isinstance(node, dict) or not isinstance(node.get("id"), str):
        return False
    kind = node.get("type")
    if not one_of(kind, _RETURNS):
        return one_of(kind, NODE_TYPES)
    options, (key, choices) = node.get(kind, {}), _RETURNS[kind]
    return (
        isinstance(options, dict)
        and one_of(options.get(key, choices[0]), choices)
        and isinstance(options.get("return_to", ""), str)
    )


def _transition_ready(item: object) -> bool:
    return (
        isinstance(item, dict)
        and isinstance(item.get("from"), str)
        and isinstance(item.get("to"), str)
        and item.get("default", True) is True
        and one_of(item.get("outcome", "approved"), ("approved", "rejected"))
    )


@dataclass
class Graph:
    """Nodes (first of each id, in document order) and the transitions between known nodes."""

    kind: dict[str, str]
    index: dict[str, int]
    approval: dict[str, dict]
    returns: dict[str, str]  # approval/automation -> the node it returns to (rejected/failed)
    outs: dict[str, list[tuple[int, dict]]]
    ins: dict[str, list[tuple[int, dict]]]
    start: str | None
    linked: bool  # every transition joins two known nodes
    complete: bool  # linked, with unique ids, one start and an end

    @classmethod
    def build(cls, d: Doc) -> Graph:
        kind = {node_id: node["type"] for node_id, (_, node) in d.nodes.items()}
        outs: dict[str, list[tuple[int, dict]]] = {node_id: [] for node_id in kind}
        ins: dict[str, list[tuple[int, dict]]] = {node_id: [] for node_id in kind}
        transitions = d.items("transitions")
        for i, item in transitions:
            if item["from"] in kind and item["to"] in kind:
                outs[item["from"]].append((i, item))
                ins[item["to"]].append((i, item))
        starts = [node_id for node_id, k in kind.items() if k == "start"]
        approval = {
            n: node.get("approval", {}) if kind[n] == "approval" else {}
            for n, (_, node) in d.nodes.items()
        }
        returns = {}
        for n, (_, node) in d.nodes.items():
            if kind[n] in _RETURNS:
                options, (key, _) = node.get(kind[n], {}), _RETURNS[kind[n]]
                if options.get(key) == "return" and options.get("return_to") in kind:
                    returns[n] = options["return_to"]
        linked = sum(map(len, outs.values())) == len(transitions)
        complete = (
            linked
            and len(starts) == 1
            and "end" in kind.values()
            and len(kind) == len(d.items("nodes"))
        )
        return cls(
            kind=kind,
            index={node_id: i for node_id, (i, _) in d.nodes.items()},
            approval=approval,
            returns=returns,
            outs=outs,
            ins=ins,
            start=starts[0] if len(starts) == 1 else None,
            linked=linked,
            complete=complete,
        )

    def loc(self, node_id: str) -> Loc:
        return ("nodes", self.index[node_id])

    def return_loc(self, node_id: str) -> Loc:
        """Where a node's return_to is: `approval.return_to` or `automation.return_to`."""
        return (*self.loc(node_id), self.kind[node_id], "return_to")

    def branches(self, node_id: str) -> bool:
        """An approval whose rejection follows an `outcome: rejected` transition."""
        return self.kind[node_id] == "approval" and self.on_reject(node_id) == "branch"

    def on_reject(self, node_id: str) -> str:
        return self.approval[node_id].get("on_reject", "terminate")

    def succ(self, node_id: str, returns: bool = False) -> list[str]:
        found = [item["to"] for _, item in self.outs[node_id]]
        if returns and node_id in self.returns:
            found.append(self.returns[node_id])
        return found

    def pred(self, node_id: str, returns: bool = False) -> list[str]:
        found = [item["from"] for _, item in self.ins[node_id]]
        if returns:
            found += [n for n, target in self.returns.items() if target == node_id]
        return found

    def reach(
        self,
        roots: Iterable[str],
        *,
        back: bool = False,
        returns: bool = True,
        within: set | None = None,
    ) -> set[str]:
        step = self.pred if back else self.succ
        todo = [n for n in roots if within is None or n in within]
        seen = set(todo)
        while todo:
            for nxt in step(todo.pop(), returns):
                if nxt not in seen and (within is None or nxt in within):
                    seen.add(nxt)
                    todo.append(nxt)
        return seen


def never_before(graph: Graph | None, earlier: str, later: object, returns: bool = True) -> bool:
    """Whether the graph shows that `earlier` can never be followed by `later`."""
    if graph is None or not graph.linked or not isinstance(later, str) or later not in graph.kind:
        return False
    return later not in graph.reach(graph.succ(earlier, returns), returns=returns)


def check_graph(d: Doc, g: Graph) -> None:
    """The shape of the graph; a dangling transition is reported alone, not its consequences."""
    before = len(d.found)
    _check_placement(d, g)
    if not g.linked:
        return
    for node_id in g.kind:
        _check_ways_out(d, g, node_id)
    _check_reachable(d, g)
    _check_gateway_loops(d, g)
    if g.complete and len(d.found) == before:
        check_blocks(d, g)


def _check_placement(d: Doc, g: Graph) -> None:
    for node_id, ways in g.outs.items():
        kind = g.kind[node_id]
        for i, item in ways:
            for key in ("when", "default"):
                if key in item and kind != "exclusive":
                    d.add(
                        ("transitions", i, key),
                        f"'{key}' is only used on transitions leaving an exclusive gateway "
                        f"('{node_id}' is {article(kind)} node)",
                    )
            if "outcome" in item and not g.branches(node_id):
                d.add(
                    ("transitions", i, "outcome"),
                    "'outcome' is only used on transitions leaving an approval node with "
                    "on_reject: branch",
                )


def _check_ways_out(d: Doc, g: Graph, node_id: str) -> None:
    kind, ways, loc = g.kind[node_id], g.outs[node_id], g.loc(node_id)
    if kind in _STEPS and not g.branches(node_id) and len(ways) != 1:
        d.add(loc, _one_way_message(kind, [item["to"] for _, item in ways]))
    elif kind == "approval" and g.branches(node_id):
        _check_outcomes(d, loc, ways)
    elif kind == "exclusive":
        _check_exclusive(d, loc, ways)
    elif kind == "parallel_split" and len(ways) < 2:
        d.add(loc, "a parallel_split needs at least two outgoing transitions")
    elif kind == "parallel_join":
        if len(g.ins[node_id]) < 2:
            d.add(loc, "a parallel_join needs at least two incoming transitions")
        if len(ways) != 1:
            d.add(
                loc, f"a parallel_join needs exactly one outgoing transition (it has {len(ways)})"
            )
    elif kind == "end":
        for i, _ in ways:
            d.add(("transitions", i, "from"), "an end node has no outgoing transitions")


def _one_way_message(kind: str, targets: list[str]) -> str:
    if not targets:
        return f"{article(kind)} node needs one outgoing transition, and it has none"
    names = ", ".join(f"'{target}'" for target in targets)
    return (
        f"{article(kind)} node has exactly one outgoing transition, but {len(targets)} leave it "
        f"(to {names}); choose a path with an exclusive gateway or take several with a "
        "parallel_split"
    )


def _check_outcomes(d: Doc, loc: Loc, ways: list[tuple[int, dict]]) -> None:
    outcomes = [item.get("outcome") for _, item in ways]
    if outcomes.count("approved") != 1 or outcomes.count("rejected") != 1:
        d.add(
            loc,
            "an approval with on_reject: branch needs exactly one outgoing transition with "
            "outcome: approved and one with outcome: rejected",
        )
    for i, item in ways:
        if "outcome" not in item:
            d.add(("transitions", i), "needs outcome: approved or rejected (its approval branches)")


def _check_exclusive(d: Doc, loc: Loc, ways: list[tuple[int, dict]]) -> None:
    defaults = [i for i, item in ways if item.get("default") is True]
    if len(defaults) != 1:
        d.add(
            loc,
            f"an exclusive gateway needs exactly one transition with default: true "
            f"(it has {len(defaults)})",
        )
    if not any("when" in item for _, item in ways):
        d.add(loc, "an exclusive gateway needs at least one transition with a 'when' condition")
    for i, item in ways:
        if "when" in item and "default" in item:
            d.add(("transitions", i, "default"), "a default transition has no 'when'")
        elif "when" not in item and "default" not in item:
            d.add(
                ("transitions", i),
                "a transition leaving an exclusive gateway needs 'when' (or default: true)",
            )


def _check_reachable(d: Doc, g: Graph) -> None:
    reached = g.reach([g.start]) if g.start else set(g.kind)
    ends = [node_id for node_id, kind in g.kind.items() if kind == "end"]
    finishing = g.reach(ends, back=True) if ends else set(g.kind)
    for node_id in g.kind:
        if node_id not in reached:
            d.add(g.loc(node_id), "cannot be reached from the start node")
        elif node_id not in finishing:
            d.add(g.loc(node_id), "no path leads from this node to an end node")


def _check_gateway_loops(d: Doc, g: Graph) -> None:
    gates = {node_id for node_id, kind in g.kind.items() if kind in _GATEWAYS}
    done: set[str] = set()
    for node_id in [n for n in g.kind if n in gates]:
        around = g.reach(g.succ(node_id), returns=False, within=gates)
        if node_id in done or node_id not in around:
            continue
        loop = [n for n in g.kind if n in around and node_id in g.reach(g.succ(n), within=gates)]
        done.update(loop)
        d.add(
            g.loc(node_id),
            "this loop has no human step in it; a ticket would spin forever "
            f"(through {', '.join(loop)})",
        )
