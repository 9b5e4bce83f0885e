"""`validate_document`: the size limits, then the schema, then the rules on what passed it."""

from __future__ import annotations

from .automation import check_automations
from .context import Doc, RoleCatalog
from .fields import check_fields
from .graph import Graph, check_graph, graph_ready
from .nodes import check_nodes
from .options import check_options
from .problems import Loc, Problem, in_document_order, size_problem
from .schema import schema_problems
from .separation import check_separation
from .transitions import check_transitions


def validate_document(doc: object, *, directory: RoleCatalog | None = None) -> list[Problem]:
    """Every problem of a parsed document (empty: valid), in the order they appear in it.

    The schema is checked first; the rules that need a sound structure (graph shape, references,
    conditions, defaults) then run on the parts that passed it. With a `directory`, role and
    user names must exist too.
    """
    if (too_big := size_problem(doc)) is not None:
        return [too_big]
    found = [*schema_problems(doc)]
    if isinstance(doc, dict):
        found += _rule_problems(doc, {loc for loc, _ in found}, directory)
    return in_document_order(doc, found)


def _rule_problems(
    doc: dict, bad: set[Loc], directory: RoleCatalog | None
) -> list[tuple[Loc, str]]:
    d = Doc(doc, bad, directory)
    graph = Graph.build(d) if graph_ready(d) else None
    check_fields(d)
    check_nodes(d, graph)
    check_transitions(d, graph)
    check_separation(d)
    check_options(d, graph)
    check_automations(d)
    if graph is not None:
        check_graph(d, graph)
    return d.found
