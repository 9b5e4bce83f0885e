"""Transitions: nodes that exist at both ends, no repeated pair, and their `when` conditions."""

from __future__ import annotations

from .conditions import Scope, check_condition
from .context import Doc
from .graph import Graph
from .problems import did_you_mean


def check_transitions(d: Doc, graph: Graph | None) -> None:
    pairs: dict[tuple, int] = {}
    for i, item in d.items("transitions"):
        loc = ("transitions", i)
        for end in ("from", "to"):
            ref = item.get(end)
            if isinstance(ref, str) and d.sound((*loc, end)) and ref not in d.nodes:
                d.add((*loc, end), f"no node has the id '{ref}'{did_you_mean(ref, d.nodes)}")
        pair = (item.get("from"), item.get("to"))
        if all(isinstance(ref, str) for ref in pair) and pair in pairs:
            d.add(loc, f"repeats transitions[{pairs[pair]}] (the same from and to)")
        elif all(isinstance(ref, str) for ref in pair):
            pairs[pair] = i
        if "when" in item and d.sound((*loc, "when")):
            scope = Scope(gateway=item.get("from"), graph=graph)
            check_condition(d, (*loc, "when"), item["when"], scope)
