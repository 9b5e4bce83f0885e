"""Conditions on fields and on an exclusive gateway's transitions: the fields and approvals they
name, operators that fit the field's type, and values the field could hold."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from flowdesk.engine._scalars import is_empty
from flowdesk.engine.conditions import OPERATORS_BY_TYPE
from flowdesk.engine.fields import check_value, option_values

from .context import Doc, definition_complete
from .graph import Graph, never_before
from .problems import Loc, article, did_you_mean
from .schema import workflow_schema


@dataclass(frozen=True)
class Scope:
    """Where a condition sits: on a field (`owner`) or on a transition leaving `gateway`."""

    owner: object = None
    gateway: object = None
    graph: Graph | None = None


def check_condition(d: Doc, loc: Loc, cond: dict, scope: Scope) -> None:
    for key in ("all", "any"):
        for k, part in enumerate(cond.get(key, [])):
            check_condition(d, (*loc, key, k), part, scope)
    if "not" in cond:
        check_condition(d, (*loc, "not"), cond["not"], scope)
    elif "field" in cond:
        _check_field_test(d, loc, cond, scope)
    elif "result" in cond:
        _check_result_test(d, loc, cond, scope)


def _check_field_test(d: Doc, loc: Loc, cond: dict, scope: Scope) -> None:
    key, op = cond["field"], cond["op"]
    item = d.fields.get(key)
    if item is None:
        d.add((*loc, "field"), f"no field has the key '{key}'{did_you_mean(key, d.fields)}")
        return
    if key == scope.owner:
        d.add((*loc, "field"), "a field's condition cannot depend on the field itself")
        return
    if key not in d.sound_fields or not definition_complete(item):
        return  # the field definition itself is reported
    kind = item["type"]
    allowed = OPERATORS_BY_TYPE.get(kind, frozenset())
    if op not in allowed:
        ops = ", ".join(o for o in _operator_order() if o in allowed)
        d.add((*loc, "op"), f"'{op}' does not apply to {article(kind)} field; use one of: {ops}")
        return
    if "value" in cond:
        for sub, message in _compare_problems(item, op, cond["value"]):
            d.add((*loc, "value", *sub), message)


@cache
def _operator_order() -> list[str]:
    return workflow_schema()["$defs"]["fieldCondition"]["properties"]["op"]["enum"]


def _compare_problems(item: dict, op: str, value: object) -> Iterator[tuple[Loc, str]]:
    """What is wrong with the value(s) a condition compares the field with."""
    kind = item["type"]
    if op == "contains":
        kind = {"multiselect": "select", "members": "member"}.get(kind, kind)
    probe = {key: item[key] for key in ("key", "options", "algorithm") if key in item}
    probe["type"] = kind
    if op in ("in", "not_in") and isinstance(value, list):
        pairs = [((k,), one) for k, one in enumerate(value)]
    else:
        pairs = [((), value)]
    for sub, one in pairs:
        if (message := _compare_problem(probe, one)) is not None:
            yield sub, message


def _compare_problem(probe: dict, value: object) -> str | None:
    if is_empty(value):
        return "is empty; test for an empty field with op: empty or not_empty"
    if probe["type"] == "select":
        allowed = option_values(probe)
        if (value.strip() if isinstance(value, str) else value) in allowed:
            return None
        options = ", ".join(map(str, allowed))
        return f"'{value}' is not an option of field '{probe['key']}' (options: {options})"
    try:
        check_value(probe, value)
    except (ValueError, TypeError) as error:
        return f"does not fit field '{probe['key']}' ({probe['type']}): {error}"
    return None


def _check_result_test(d: Doc, loc: Loc, cond: dict, scope: Scope) -> None:
    node_id = cond["result"]
    kind = d.kind(node_id)
    if kind is None:
        d.add((*loc, "result"), f"no node has the id '{node_id}'{did_you_mean(node_id, d.nodes)}")
    elif kind and kind != "approval":
        d.add(
            (*loc, "result"),
            f"'{node_id}' is {article(kind)} node; 'result' names an approval node",
        )
    elif never_before(scope.graph, node_id, scope.gateway):
        d.add(
            (*loc, "result"),
            f"approval '{node_id}' never comes before this gateway, so it has no result here",
        )
