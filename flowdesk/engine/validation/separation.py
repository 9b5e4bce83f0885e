"""Separation of duties: the nodes that `settings.separation.distinct` and a node's
`separate_from` keep apart must exist and be human nodes, and none is kept apart from itself."""

from __future__ import annotations

from flowdesk.engine.definition import HUMAN_NODE_TYPES

from .context import Doc
from .problems import Loc, article, did_you_mean


def check_separation(d: Doc) -> None:
    settings = d.data.get("settings")
    separation = settings.get("separation") if isinstance(settings, dict) else None
    groups = separation.get("distinct") if isinstance(separation, dict) else None
    base = ("settings", "separation", "distinct")
    for g, group in enumerate(groups if isinstance(groups, list) else []):
        if isinstance(group, list) and d.sound((*base, g)):
            for k, node_id in enumerate(group):
                _check_reference(d, (*base, g, k), node_id)
    for i, node in d.items("nodes"):
        listed = node.get("separate_from")
        if not isinstance(listed, list) or not d.sound(("nodes", i, "separate_from")):
            continue
        for k, node_id in enumerate(listed):
            loc = ("nodes", i, "separate_from", k)
            if node_id == node.get("id"):
                d.add(loc, "a node cannot be kept apart from itself; name other nodes")
            else:
                _check_reference(d, loc, node_id)


def _check_reference(d: Doc, loc: Loc, node_id: str) -> None:
    kind = d.kind(node_id)
    if kind is None:
        d.add(loc, f"no node has the id '{node_id}'{did_you_mean(node_id, d.nodes)}")
    elif kind and kind not in HUMAN_NODE_TYPES:
        d.add(
            loc,
            f"'{node_id}' is {article(kind)} node; separation of duties names human nodes "
            "(start, task or approval)",
        )
