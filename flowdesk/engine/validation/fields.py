"""Field definitions: unique keys, options, patterns, min/max, defaults, table columns, and the
conditions (`required_when`, `visible_when`) on them."""

from __future__ import annotations

import re
from typing import Any

from flowdesk.engine._scalars import is_empty, normalise_date, normalise_datetime, to_decimal
from flowdesk.engine.fields import check_value, option_values

from .conditions import Scope, check_condition
from .context import Doc, definition_complete, definition_sound, note_duplicate
from .problems import Loc


def check_fields(d: Doc) -> None:
    seen: dict[str, int] = {}
    for i, item in d.items("fields"):
        loc = ("fields", i)
        note_duplicate(d, seen, item.get("key"), (*loc, "key"))
        if definition_sound(d, loc, item):
            _check_definition(d, loc, item)
        for key in ("required_when", "visible_when"):
            if key in item and d.sound((*loc, key)):
                check_condition(d, (*loc, key), item[key], Scope(owner=item.get("key")))


def _check_definition(d: Doc, loc: Loc, item: dict) -> None:
    _check_options(d, loc, item)
    judged = _check_pattern(d, loc, item) & _check_bounds(d, loc, item)
    if judged and definition_complete(item):
        _check_default(d, loc, item)
    if item["type"] == "table" and isinstance(item.get("columns"), list):
        seen: dict[str, int] = {}
        for j, column in enumerate(item["columns"]):
            note_duplicate(d, seen, column.get("key"), (*loc, "columns", j, "key"))
            if definition_sound(d, (*loc, "columns", j), column):
                _check_definition(d, (*loc, "columns", j), column)
    if item.get("required") is True and "required_when" in item:
        d.add((*loc, "required_when"), "has no effect: the field is always required")


def _check_options(d: Doc, loc: Loc, item: dict) -> None:
    seen: set = set()
    for k, value in enumerate(option_values(item)):
        if value in seen:
            d.add((*loc, "options", k), f"repeats the option value '{value}'")
        seen.add(value)


def _check_pattern(d: Doc, loc: Loc, item: dict) -> bool:
    if "pattern" not in item:
        return True
    try:
        re.compile(item["pattern"])
    except re.error as error:
        d.add((*loc, "pattern"), f"is not a valid regular expression: {error}")
        return False
    return True


def _datetime_bound(value: object) -> str | None:
    day = normalise_date(value)
    return f"{day}T00:00:00Z" if day else normalise_datetime(value)


_BOUNDS: dict[str, tuple[Any, str]] = {
    "integer": (to_decimal, "must be a number"),
    "decimal": (to_decimal, "must be a number"),
    "date": (normalise_date, "must be a date as YYYY-MM-DD, e.g. 2026-01-31"),
    "datetime": (
        _datetime_bound,
        "must be a date (YYYY-MM-DD) or a date-time with a time zone, e.g. 2026-01-31T09:00:00Z",
    ),
}


def _check_bounds(d: Doc, loc: Loc, item: dict) -> bool:
    """min/max fit the type and are in order; False if the default cannot be judged."""
    parse, help_ = _BOUNDS.get(item["type"], (lambda value: value, ""))
    bounds = {key: parse(item[key]) for key in ("min", "max") if key in item}
    for key, value in bounds.items():
        if value is None:
            d.add((*loc, key), help_)
    if None in bounds.values():
        return False
    if len(bounds) == 2 and bounds["min"] > bounds["max"]:
        d.add((*loc, "min"), f"is greater than max ({item['max']})")
        return False
    return True


def _check_default(d: Doc, loc: Loc, item: dict) -> None:
    value = item.get("default")
    if is_empty(value):
        return
    try:
        value = check_value(item, value)
    except (ValueError, TypeError) as error:
        d.add((*loc, "default"), f"is not a valid value for this field: {error}")
        return
    users = d.catalog("users")
    if users is not None and item["type"] in ("member", "members"):
        for name in [value] if isinstance(value, str) else value:
            if name not in users:
                d.add((*loc, "default"), f"user '{name}' does not exist")
