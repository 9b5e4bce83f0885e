"""Nodes: unique ids, the fields they show, their operators (roles, users, member fields,
node handlers), where an approval or automation returns to, and one start with at least one
end."""

from __future__ import annotations

from flowdesk.engine.definition import HUMAN_NODE_TYPES

from .context import Doc, note_duplicate
from .graph import Graph, never_before
from .problems import Loc, article, did_you_mean


def check_nodes(d: Doc, graph: Graph | None) -> None:
    seen: dict[str, int] = {}
    for i, node in d.items("nodes"):
        note_duplicate(d, seen, node.get("id"), ("nodes", i, "id"))
        keys = node.get("fields")
        for k, key in enumerate(keys if isinstance(keys, list) else []):
            if isinstance(key, str) and key not in d.fields:
                suggestion = did_you_mean(key, d.fields)
                d.add(("nodes", i, "fields", k), f"no field has the key '{key}'{suggestion}")
        operators = node.get("operators")
        for k, op in enumerate(operators if isinstance(operators, list) else []):
            if isinstance(op, dict) and d.sound(("nodes", i, "operators", k)):
                check_operator(d, ("nodes", i, "operators", k), op, node, graph)
        kind = node.get("type")
        options = node.get(kind) if kind in ("approval", "automation") else None
        if isinstance(options, dict) and "return_to" in options and d.sound(("nodes", i, kind)):
            _check_return(d, ("nodes", i, kind, "return_to"), options["return_to"], node, graph)
    _check_start_and_end(d)


def _check_start_and_end(d: Doc) -> None:
    nodes = d.items("nodes")
    if not nodes:
        return
    starts = [i for i, node in nodes if node.get("type") == "start"]
    if not starts:
        d.add(("nodes",), "there is no start node; add one node with type: start")
    for i in starts[1:]:
        d.add(("nodes", i, "type"), f"a workflow has one start node, and nodes[{starts[0]}] is it")
    if not any(node.get("type") == "end" for _, node in nodes):
        d.add(("nodes",), "there is no end node; add at least one node with type: end")


def check_operator(d: Doc, loc: Loc, op: dict, node: dict, graph: Graph | None) -> None:
    """An operator of `node` (in its operators, or an SLA's escalate_to)."""
    kind = op["type"]
    if kind == "business_role" and d.data.get("scope") == "global":
        d.add(
            (*loc, "type"),
            "a workflow with scope: global has no business to resolve business roles in; "
            "use a general_role or users",
        )
    if kind in ("business_role", "general_role"):
        roles = d.catalog(f"{kind}s")
        if roles is not None and op["role"] not in roles:
            suggestion = did_you_mean(op["role"], roles)
            d.add(
                (*loc, "role"),
                f"{kind.replace('_', ' ')} '{op['role']}' does not exist{suggestion}",
            )
    elif kind == "users":
        users = d.catalog("users")
        for k, name in enumerate(op["users"] if users is not None else []):
            if name not in users:
                d.add((*loc, "users", k), f"user '{name}' does not exist")
    elif kind == "field":
        _check_operator_field(d, loc, op["field"])
    elif kind == "node_handler":
        _check_handler(d, loc, op["node"], node, graph)


def _check_operator_field(d: Doc, loc: Loc, key: str) -> None:
    item = d.fields.get(key)
    if item is None:
        d.add((*loc, "field"), f"no field has the key '{key}'{did_you_mean(key, d.fields)}")
    elif item.get("type") not in ("member", "members"):
        d.add(
            (*loc, "field"),
            f"'{key}' is {article(item.get('type'))} field; an operator's field must be of type "
            "member or members",
        )


def _check_handler(d: Doc, loc: Loc, target: str, node: dict, graph: Graph | None) -> None:
    kind = d.kind(target)
    if kind is None:
        d.add((*loc, "node"), f"no node has the id '{target}'{did_you_mean(target, d.nodes)}")
    elif kind and kind not in HUMAN_NODE_TYPES:
        d.add(
            (*loc, "node"),
            f"'{target}' is {article(kind)} node; node_handler names a human node "
            "(start, task or approval)",
        )
    elif never_before(graph, target, node.get("id")):
        d.add((*loc, "node"), f"'{target}' never comes before this node, so it has no handler")


def _check_return(d: Doc, loc: Loc, target: str, node: dict, graph: Graph | None) -> None:
    kind = d.kind(target)
    if kind is None:
        d.add(loc, f"no node has the id '{target}'{did_you_mean(target, d.nodes)}")
    elif kind and kind not in HUMAN_NODE_TYPES:
        d.add(
            loc,
            f"'{target}' is {article(kind)} node; return_to names a start, task or approval node",
        )
    elif target == node.get("id"):
        d.add(loc, "an approval cannot return to itself; name an earlier node")
    elif never_before(graph, target, node.get("id"), returns=False):
        d.add(loc, f"'{target}' never comes before this node, so the ticket cannot go back there")
