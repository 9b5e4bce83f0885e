"""Declarative conditions on field values and approval results – evaluated, never eval'd."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from ._scalars import is_empty, normalise_datetime, to_decimal

__all__ = ["OPERATORS", "OPERATORS_BY_TYPE", "evaluate"]

OPERATORS = frozenset(
    {"eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "contains", "empty", "not_empty"}
)

_SCALAR = frozenset(
    {
        "string", "text", "integer", "decimal", "boolean", "select", "date", "datetime", "url",
        "email", "member", "checksum",
    }
)  # fmt: skip
_ORDERED = frozenset({"integer", "decimal", "date", "datetime"})
_CONTAINS = frozenset({"string", "text", "multiselect", "members"})
_LISTS = frozenset({"multiselect", "members", "attachment", "table"})


def _operators_for(field_type: str) -> frozenset[str]:
    ops = {"empty", "not_empty"}
    if field_type in _SCALAR:
        ops |= {"eq", "ne", "in", "not_in"}
    if field_type in _ORDERED:
        ops |= {"lt", "le", "gt", "ge"}
    if field_type in _CONTAINS:
        ops.add("contains")
    return frozenset(ops)


OPERATORS_BY_TYPE: dict[str, frozenset[str]] = {
    kind: _operators_for(kind) for kind in sorted(_SCALAR | _LISTS)
}

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


def evaluate(
    condition: dict, values: dict, results: dict[str, str], fields: dict[str, dict]
) -> bool:
    """Whether `condition` holds for the current field values and approval results."""
    if "all" in condition:
        return all(evaluate(part, values, results, fields) for part in condition["all"])
    if "any" in condition:
        return any(evaluate(part, values, results, fields) for part in condition["any"])
    if "not" in condition:
        return not evaluate(condition["not"], values, results, fields)
    if "result" in condition:
        actual, kind = results.get(condition["result"]), "select"
    elif "field" in condition:
        actual = values.get(condition["field"])
        kind = fields.get(condition["field"], {}).get("type", "")
    else:
        raise ValueError("A condition needs field, result, all, any or not.")
    return _compare(condition.get("op", ""), kind, actual, condition.get("value"))


def _compare(op: str, kind: str, actual: object, expected: object) -> bool:
    if op == "empty":
        return is_empty(actual)
    if op == "not_empty":
        return not is_empty(actual)
    if op not in OPERATORS:
        raise ValueError(f"Unknown operator '{op}'.")
    if is_empty(actual):
        return op in {"ne", "not_in"}
    mine = _coerce(kind, actual)
    if op == "contains":
        return _contains(mine, _coerce_item(kind, expected))
    if op in {"in", "not_in"}:
        choices = expected if isinstance(expected, list | tuple) else [expected]
        hit = any(mine == _coerce(kind, choice) for choice in choices)
        return hit if op == "in" else not hit
    theirs = _coerce(kind, expected)
    if op == "eq":
        return mine == theirs
    if op == "ne":
        return mine != theirs
    try:
        return _ORDER[op](mine, theirs)
    except TypeError:  # e.g. a number compared with text: not ordered, so false
        return False


def _coerce(kind: str, value: object) -> object:
    """Bring a stored value and a literal to one comparable form for the field type."""
    if kind in {"integer", "decimal"} or (kind == "" and isinstance(value, int | float)):
        number = to_decimal(value)
        return value if number is None else number
    if kind == "boolean" and isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    if kind == "datetime":
        return normalise_datetime(value) or value
    if isinstance(value, str) and kind != "text":
        return value.strip()
    return value


def _coerce_item(kind: str, value: object) -> object:
    return value.strip() if isinstance(value, str) and kind not in {"string", "text"} else value


def _contains(actual: object, item: object) -> bool:
    if isinstance(actual, str):
        return isinstance(item, str) and item in actual
    if isinstance(actual, list | tuple):
        return item in actual
    return False
