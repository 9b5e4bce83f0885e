"""A parsed workflow document: nodes, fields, transitions and their block structure.

Parse once per deployed version and reuse: the runtime reads only these frozen objects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .automation import Automation, parse_automation
from .errors import DefinitionError
from .fields import check_value, is_empty
from .options import (
    Notify,
    Sla,
    Timer,
    parse_node_notify,
    parse_notify,
    parse_sla,
    parse_timer,
)

__all__ = [
    "COUNTERSIGN_MODES",
    "HUMAN_NODE_TYPES",
    "NODE_TYPES",
    "SYSTEM_NODE_TYPES",
    "Approval",
    "Definition",
    "Node",
    "Separation",
    "Settings",
    "Transition",
    "text",
]

HUMAN_NODE_TYPES = frozenset({"start", "task", "approval"})
SYSTEM_NODE_TYPES = frozenset({"timer", "automation"})  # the system acts; people may step in
NODE_TYPES = (
    HUMAN_NODE_TYPES | SYSTEM_NODE_TYPES | {"exclusive", "parallel_split", "parallel_join", "end"}
)
COUNTERSIGN_MODES = frozenset({"any", "all", "quorum", "percentage"})

# A node's place in the block structure: the (split id, branch) pairs it sits inside, outermost
# first; a branch is the index of the split's outgoing transition that starts it.
Context = tuple[tuple[str, int], ...]


def text(value: object, fallback: str = "") -> str:
    """The English form of a document text (`"..."` or `{en, zh}`)."""
    if isinstance(value, Mapping):
        return str(value.get("en") or next(iter(value.values()), fallback))
    return str(value) if value else fallback


@dataclass(frozen=True)
class Separation:
    requester_may_approve: bool = False
    distinct: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Settings:
    withdraw: str = "before_first_action"
    on_unassigned: str = "fail"
    notify: Notify = Notify()
    separation: Separation = Separation()


@dataclass(frozen=True)
class Approval:
    mode: str = "single"
    quorum: int | None = None
    percentage: int | None = None
    order: str = "parallel"
    on_reject: str = "terminate"
    return_to: str | None = None

    @property
    def countersign(self) -> bool:
        return self.mode in COUNTERSIGN_MODES

    def needed(self, approvers: int) -> int:
        """Approvals that decide the step, out of `approvers`."""
        if self.mode == "all":
            return approvers
        if self.mode == "quorum":
            return max(1, min(self.quorum or 1, approvers))
        if self.mode == "percentage":
            return max(1, min(approvers, -(-(self.percentage or 100) * approvers // 100)))
        return 1


@dataclass(frozen=True)
class Transition:
    index: int
    source: str
    target: str
    when: dict | None = None
    default: bool = False
    outcome: str | None = None


@dataclass(frozen=True)
class Node:
    id: str
    type: str
    name: Any = None
    operators: tuple[dict, ...] = ()
    fields: tuple[str, ...] = ()
    claim: bool = False
    on_unassigned: str | None = None
    approval: Approval | None = None
    separate_from: tuple[str, ...] = ()
    sla: Sla | None = None
    notify: tuple[tuple[str, Any], ...] = ()  # the keys of settings.notify this node overrides
    timer: Timer | None = None
    automation: Automation | None = None

    @property
    def human(self) -> bool:
        return self.type in HUMAN_NODE_TYPES

    @property
    def system(self) -> bool:
        """A timer or automation node: the system completes it, its operators may by hand."""
        return self.type in SYSTEM_NODE_TYPES

    @property
    def label(self) -> str:
        return text(self.name, self.id)


@dataclass(frozen=True, eq=False)
class Definition:
    key: str
    type: str
    scope: str
    name: Any
    description: Any
    settings: Settings
    fields: dict[str, dict]
    nodes: dict[str, Node]
    transitions: tuple[Transition, ...]
    start: str
    defaults: dict[str, Any] = field(default_factory=dict)
    outgoing: dict[str, tuple[Transition, ...]] = field(default_factory=dict)
    incoming: dict[str, tuple[Transition, ...]] = field(default_factory=dict)
    contexts: dict[str, Context] = field(default_factory=dict)
    split_join: dict[str, str] = field(default_factory=dict)
    join_split: dict[str, str] = field(default_factory=dict)
    branch_of: dict[int, int | None] = field(default_factory=dict)
    apart: dict[str, tuple[str, ...]] = field(default_factory=dict)  # see kept_apart
    # Nodes whose handlers a ticket's state keeps: those a `node_handler` operator names (a
    # step's or an SLA's `escalate_to`) and those separation of duties keeps apart. Nothing
    # else reads them, so the state does not grow with every step taken.
    handlers_read: frozenset[str] = frozenset()

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Definition:
        if not isinstance(doc, Mapping):
            raise DefinitionError("", "a workflow document must be an object")
        fields = _parse_fields(doc.get("fields") or [])
        nodes = _parse_nodes(_need(doc, "nodes", ""), fields)
        transitions = _parse_transitions(_need(doc, "transitions", ""), nodes)
        starts = [node.id for node in nodes.values() if node.type == "start"]
        if len(starts) != 1:
            raise DefinitionError("nodes", "a workflow needs exactly one start node")
        outgoing, incoming = _edges(nodes, transitions)
        structure = _Structure(nodes, outgoing, incoming, starts[0])
        settings = _parse_settings(doc.get("settings") or {})
        apart = _kept_apart(nodes, settings.separation)
        return cls(
            key=str(_need(doc, "key", "")),
            type=str(doc.get("type", "")),
            scope=str(doc.get("scope", "global")),
            name=doc.get("name"),
            description=doc.get("description"),
            settings=settings,
            fields=fields,
            nodes=nodes,
            transitions=transitions,
            start=starts[0],
            defaults=_defaults(fields),
            outgoing=outgoing,
            incoming=incoming,
            contexts=structure.contexts,
            split_join=structure.split_join,
            join_split={join: split for split, join in structure.split_join.items()},
            branch_of=structure.branch_of,
            apart=apart,
            handlers_read=frozenset(apart) | _named_by_node_handler(nodes),
        )

    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise DefinitionError("nodes", f"there is no node '{node_id}'") from None

    def on_unassigned(self, node: Node) -> str:
        return node.on_unassigned or self.settings.on_unassigned

    def notify_for(self, node_id: str | None = None) -> Notify:
        """The notification strategy at a node: its `notify` keys over the workflow's
        `settings.notify`; the workflow's alone for None (ticket-wide events)."""
        if node_id is None:
            return self.settings.notify
        return replace(self.settings.notify, **dict(self.node(node_id).notify))

    def kept_apart(self, node_id: str) -> list[str]:
        """Nodes whose handlers may not handle `node_id` on the same ticket (and vice versa):
        its `separate_from`, the nodes naming it there, and its `distinct` groups."""
        return list(self.apart.get(node_id, ()))

    def leave(self, node: Node, outcome: str | None = None) -> Transition:
        """The transition a step leaves by (by outcome for `on_reject: branch`)."""
        ways = self.outgoing[node.id]
        chosen = [t for t in ways if t.outcome == outcome] if outcome else []
        if not chosen:
            chosen = [t for t in ways if t.outcome is None] or list(ways)
        if not chosen:
            raise DefinitionError(f"nodes.{node.id}", "the step has no way out")
        return chosen[0]


# --- parsing -------------------------------------------------------------------------------


def _need(obj: Mapping[str, Any], key: str, path: str) -> Any:
    if not isinstance(obj, Mapping) or key not in obj:
        raise DefinitionError(path or key, f"'{key}' is missing")
    return obj[key]


def _parse_settings(raw: Mapping[str, Any]) -> Settings:
    return Settings(
        withdraw=str(raw.get("withdraw", "before_first_action")),
        on_unassigned=str(raw.get("on_unassigned", "fail")),
        notify=_option(raw, "notify", "settings", parse_notify) or Notify(),
        separation=_parse_separation(raw.get("separation") or {}),
    )


def _parse_separation(raw: Mapping[str, Any]) -> Separation:
    return Separation(
        requester_may_approve=bool(raw.get("requester_may_approve", False)),
        distinct=tuple(tuple(group) for group in raw.get("distinct") or ()),
    )


def _kept_apart(nodes: dict[str, Node], separation: Separation) -> dict[str, tuple[str, ...]]:
    """`kept_apart` of every node kept apart from any, the others in document order."""
    apart: dict[str, set[str]] = {
        node_id: set(node.separate_from) for node_id, node in nodes.items()
    }
    for node in nodes.values():
        for other in node.separate_from:
            apart.setdefault(other, set()).add(node.id)
    for group in separation.distinct:
        for node_id in group:
            apart.setdefault(node_id, set()).update(group)
    order = {node_id: i for i, node_id in enumerate(nodes)}
    kept: dict[str, tuple[str, ...]] = {}
    for node_id in nodes:
        others = (apart[node_id] & order.keys()) - {node_id}
        if others:
            kept[node_id] = tuple(sorted(others, key=order.__getitem__))
    return kept


def _named_by_node_handler(nodes: dict[str, Node]) -> frozenset[str]:
    """The nodes whose handlers a `node_handler` operator resolves to, wherever operator specs
    are: a step's operators and its SLA's `escalate_to`."""
    named: set[str] = set()
    for node in nodes.values():
        for op in (*node.operators, *(node.sla.escalate_to if node.sla else ())):
            if op.get("type") == "node_handler" and isinstance(op.get("node"), str):
                named.add(op["node"])
    return frozenset(named)


def _parse_fields(raw: list) -> dict[str, dict]:
    fields: dict[str, dict] = {}
    for i, item in enumerate(raw):
        key = _need(item, "key", f"fields[{i}]")
        _need(item, "type", f"fields[{i}]")
        if key in fields:
            raise DefinitionError(f"fields[{i}].key", f"field '{key}' is declared twice")
        fields[key] = dict(item)
    return fields


def _defaults(fields: dict[str, dict]) -> dict[str, Any]:
    defaults = {}
    for key, item in fields.items():
        if is_empty(item.get("default")):
            continue
        try:
            defaults[key] = check_value(item, item["default"])
        except ValueError as error:
            raise DefinitionError(f"fields.{key}.default", str(error)) from None
    return defaults


def _parse_nodes(raw: list, fields: dict[str, dict]) -> dict[str, Node]:
    nodes: dict[str, Node] = {}
    for i, item in enumerate(raw):
        path = f"nodes[{i}]"
        node_id, kind = _need(item, "id", path), _need(item, "type", path)
        if kind not in NODE_TYPES:
            raise DefinitionError(f"{path}.type", f"unknown node type '{kind}'")
        if node_id in nodes:
            raise DefinitionError(f"{path}.id", f"node '{node_id}' is declared twice")
        for key in item.get("fields") or []:
            if key not in fields:
                raise DefinitionError(f"{path}.fields", f"there is no field '{key}'")
        nodes[node_id] = Node(
            id=node_id,
            type=kind,
            name=item.get("name"),
            operators=tuple(dict(op) for op in item.get("operators") or []),
            fields=tuple(item.get("fields") or []),
            claim=bool(item.get("claim", False)),
            on_unassigned=item.get("on_unassigned"),
            approval=_parse_approval(item.get("approval") or {}) if kind == "approval" else None,
            separate_from=tuple(item.get("separate_from") or ()),
            sla=_option(item, "sla", path, parse_sla),
            notify=_option(item, "notify", path, parse_node_notify) or (),
            timer=_option(item, "timer", path, parse_timer),
            automation=_option(item, "automation", path, parse_automation),
        )
        for key in ("timer", "automation"):
            if kind == key and getattr(nodes[node_id], key) is None:
                raise DefinitionError(path, f"this {key} node needs '{key}'")
    return nodes


def _option(item: Mapping[str, Any], key: str, path: str, parse: Callable[[Any, str], Any]) -> Any:
    """A node's (or the settings') option parsed, None if absent; a shape that validation
    would have refused is a DefinitionError, not a crash."""
    if item.get(key) is None:
        return None
    try:
        return parse(item[key], f"{path}.{key}")
    except (KeyError, TypeError, ValueError, AttributeError, StopIteration):
        raise DefinitionError(f"{path}.{key}", "cannot be read; validate the document") from None


def _parse_approval(raw: Mapping[str, Any]) -> Approval:
    return Approval(
        mode=raw.get("mode", "single"),
        quorum=raw.get("quorum"),
        percentage=raw.get("percentage"),
        order=raw.get("order", "parallel"),
        on_reject=raw.get("on_reject", "terminate"),
        return_to=raw.get("return_to"),
    )


def _parse_transitions(raw: list, nodes: dict[str, Node]) -> tuple[Transition, ...]:
    transitions = []
    for i, item in enumerate(raw):
        path = f"transitions[{i}]"
        source, target = _need(item, "from", path), _need(item, "to", path)
        for key, node_id in (("from", source), ("to", target)):
            if node_id not in nodes:
                raise DefinitionError(f"{path}.{key}", f"there is no node '{node_id}'")
        transitions.append(
            Transition(
                index=i,
                source=source,
                target=target,
                when=item.get("when"),
                default=bool(item.get("default", False)),
                outcome=item.get("outcome"),
            )
        )
    return tuple(transitions)


def _edges(
    nodes: dict[str, Node], transitions: tuple[Transition, ...]
) -> tuple[dict[str, tuple[Transition, ...]], dict[str, tuple[Transition, ...]]]:
    outgoing: dict[str, list[Transition]] = {node_id: [] for node_id in nodes}
    incoming: dict[str, list[Transition]] = {node_id: [] for node_id in nodes}
    for t in transitions:
        outgoing[t.source].append(t)
        incoming[t.target].append(t)
    return (
        {key: tuple(ways) for key, ways in outgoing.items()},
        {key: tuple(ways) for key, ways in incoming.items()},
    )


Edges = dict[str, tuple[Transition, ...]]


class _Structure:
    """Which parallel block (and branch) each node sits in, found by one walk from start.

    Used to return into or out of parallel blocks without stranding a join. A malformed
    graph (which validation rejects) yields partial maps; the runtime still works on it.
    """

    def __init__(
        self, nodes: dict[str, Node], outgoing: Edges, incoming: Edges, start: str
    ) -> None:
        self.contexts: dict[str, Context] = {}
        self.split_join: dict[str, str] = {}
        self.branch_of: dict[int, int | None] = {}
        self._walk(nodes, outgoing, start)
        self._branches(incoming)

    def _walk(self, nodes: dict[str, Node], outgoing: Edges, start: str) -> None:
        stack: list[tuple[str, Context]] = [(start, ())]
        while stack:
            node_id, context = stack.pop()
            if node_id in self.contexts:
                continue
            kind = nodes[node_id].type
            if kind == "parallel_join" and context:
                self.split_join.setdefault(context[-1][0], node_id)
                context = context[:-1]
            self.contexts[node_id] = context
            for t in reversed(outgoing[node_id]):
                inner = context + ((node_id, t.index),) if kind == "parallel_split" else context
                stack.append((t.target, inner))

    def _branches(self, incoming: Edges) -> None:
        for split, join in self.split_join.items():
            depth = len(self.contexts[split])
            for t in incoming[join]:
                source = self.contexts.get(t.source, ())
                if t.source == split:
                    self.branch_of[t.index] = t.index
                elif len(source) > depth and source[depth][0] == split:
                    self.branch_of[t.index] = source[depth][1]
                else:
                    self.branch_of[t.index] = None
