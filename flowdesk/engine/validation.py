"""Checking a workflow document: its JSON Schema first, then the rules of the format reference.

`validate_document(doc)` returns every problem as `Problem(path, message)` in document order;
an empty list means the document can be deployed. docs/workflow-format.md lists the rules.
The sentences are for process designers, so they name keys and ids, never schema keywords.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ._scalars import is_empty, normalise_date, normalise_datetime, to_decimal
from .conditions import OPERATORS_BY_TYPE
from .definition import HUMAN_NODE_TYPES, NODE_TYPES
from .fields import FIELD_TYPES, check_value, option_values

if TYPE_CHECKING:  # jsonschema is imported on first use: the runtime engine does not need it
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

__all__ = [
    "SCHEMA_PATH",
    "Problem",
    "RoleCatalog",
    "format_path",
    "size_problem",
    "validate_document",
    "workflow_schema",
]

SCHEMA_PATH = Path(__file__).with_name("workflow.schema.json")
MAX_VALUES = 50_000  # values in one document, counting every use of a YAML anchor
MAX_DEPTH = 40

Loc = tuple[Any, ...]  # a path as keys and list indices; () is the whole document


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document: where (a path like `nodes[3].approval`) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class RoleCatalog(Protocol):
    """What the directory holds; passed at deploy time so that role and user names are checked."""

    def business_roles(self) -> set[str]: ...

    def general_roles(self) -> set[str]: ...

    def users(self) -> set[str] | None:
        """Every username, or None when the directory cannot list them."""
        ...


@cache
def workflow_schema() -> dict:
    """The published JSON Schema of the document (flowdesk/engine/workflow.schema.json)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def _schema_validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(workflow_schema())


def validate_document(doc: object, *, directory: RoleCatalog | None = None) -> list[Problem]:
    """Every problem of a parsed document (empty: valid), in the order they appear in it.

    The schema is checked first; the rules that need a sound structure (graph shape, references,
    conditions, defaults) then run on the parts that passed it. With a `directory`, role and
    user names must exist too.
    """
    if (too_big := size_problem(doc)) is not None:
        return [too_big]
    found = [*_schema_problems(doc)]
    if isinstance(doc, dict):
        found += _rule_problems(doc, {loc for loc, _ in found}, directory)
    return _in_document_order(doc, found)


def size_problem(doc: object) -> Problem | None:
    """A problem if the document nests too deep or holds too much (e.g. a recursive anchor)."""
    stack, count = [(doc, 0)], 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            return Problem("(document)", f"is nested more than {MAX_DEPTH} levels deep")
        if count > MAX_VALUES:
            return Problem("(document)", f"holds more than {MAX_VALUES} values")
        if isinstance(value, dict | list):
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
    return None


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def format_path(loc: Iterable[Any]) -> str:
    """`("nodes", 3, "approval")` → `nodes[3].approval`; the empty path is `(document)`."""
    text = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        elif isinstance(part, str) and _NAME.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text or "(document)"


def _in_document_order(doc: object, found: list[tuple[Loc, str]]) -> list[Problem]:
    unique = list(dict.fromkeys(found))
    unique.sort(key=lambda item: _position(doc, item[0]))
    return [Problem(format_path(loc), message) for loc, message in unique]


def _position(doc: object, loc: Loc) -> tuple[int, ...]:
    """Sort key: where each step of the path sits in the document (missing keys last)."""
    key, here = [], doc
    for part in loc:
        if isinstance(here, dict) and part in here:
            key.append(list(here).index(part))
            here = here[part]
        elif isinstance(here, list) and isinstance(part, int) and 0 <= part < len(here):
            key.append(part)
            here = here[part]
        else:
            key.append(1 << 30)
            here = None
    return tuple(key)


def _a(word: object) -> str:
    """`word` with its indefinite article: "a task", "an approval"."""
    return f"{'an' if str(word)[:1] in 'aeiou' else 'a'} {word}"


def _one_of(value: object, choices: Iterable[str]) -> bool:
    """`value in choices` for any value (a list from a damaged document is not hashable)."""
    return isinstance(value, str) and value in choices


def _did_you_mean(word: object, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --- the schema, in designers' words ---------------------------------------------------------


def _schema_problems(doc: object) -> Iterator[tuple[Loc, str]]:
    for error in _schema_validator().iter_errors(doc):
        yield from _translate(error)


def _translate(error: ValidationError) -> Iterator[tuple[Loc, str]]:
    if error.validator in ("oneOf", "anyOf") and (branch := _best_branch(error)):
        for inner in branch:
            yield from _translate(inner)
        return
    loc = tuple(error.absolute_path)
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        allowed = list(error.schema.get("properties", {}))
        for key in error.instance:
            if key not in allowed:
                yield loc, f"'{key}' is not an allowed key here{_did_you_mean(key, allowed)}"
        return
    yield loc, _message(error)


def _best_branch(error: ValidationError) -> list[ValidationError]:
    """The errors of the alternative the instance was meant to be: the one sharing most keys."""
    if not isinstance(error.instance, dict) or not error.context:
        return []
    shared = [
        sum(key in _resolve(branch).get("properties", {}) for key in error.instance)
        for branch in error.validator_value
    ]
    best = max(range(len(shared)), key=shared.__getitem__)
    if shared[best] == 0:
        return []
    return [inner for inner in error.context if inner.relative_schema_path[0] == best]


def _resolve(schema: Any) -> dict:
    if not isinstance(schema, dict):
        return {}
    ref = schema.get("$ref", "")
    if ref.startswith("#/$defs/"):
        return workflow_schema()["$defs"].get(ref.removeprefix("#/$defs/"), {})
    return schema


def _message(error: ValidationError) -> str:
    custom = error.schema.get("errorMessage") if isinstance(error.schema, dict) else None
    if isinstance(custom, dict):
        custom = custom.get(error.validator)
    if isinstance(custom, str):
        return custom
    explain = _EXPLAIN.get(str(error.validator))
    return explain(error) if explain else error.message


_TYPE_WORDS = {
    "string": "a string",
    "object": "a mapping (key: value pairs)",
    "array": "a list",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _type_message(error: ValidationError) -> str:
    wanted = error.validator_value
    wanted = [wanted] if isinstance(wanted, str) else list(wanted)
    text = "must be " + " or ".join(_TYPE_WORDS.get(kind, kind) for kind in wanted)
    if "string" in wanted and isinstance(error.instance, bool | int | float):
        text += " (put the value in quotes)"
    return text


def _enum_message(error: ValidationError) -> str:
    choices = [str(choice) for choice in error.validator_value]
    return f"must be one of: {', '.join(choices)}{_did_you_mean(error.instance, choices)}"


def _unique_message(error: ValidationError) -> str:
    seen: list = []
    for item in error.instance:
        if item in seen:
            return f"lists {json.dumps(item, ensure_ascii=False)} more than once"
        seen.append(item)
    return "lists an item more than once"  # pragma: no cover - uniqueItems failed


def _count(noun: str, least: bool) -> Any:
    def explain(error: ValidationError) -> str:
        n = error.validator_value
        if least and n == 1:
            return "must not be empty"
        return f"must have {'at least' if least else 'at most'} {n} {noun}"

    return explain


_EXPLAIN: dict[str, Any] = {
    "required": lambda e: e.message.replace(" is a required property", " is required"),
    "type": _type_message,
    "enum": _enum_message,
    "const": lambda e: f"must be {json.dumps(e.validator_value)}",
    "pattern": lambda e: f"does not match the pattern {e.validator_value}",
    "minLength": _count("characters", least=True),
    "maxLength": _count("characters", least=False),
    "minItems": _count("items", least=True),
    "maxItems": _count("items", least=False),
    "minProperties": lambda e: "must not be empty",
    "minimum": lambda e: f"must be at least {e.validator_value}",
    "maximum": lambda e: f"must be at most {e.validator_value}",
    "uniqueItems": _unique_message,
    "not": lambda e: "is not allowed here",
    "oneOf": lambda e: "does not match any of the allowed forms",
    "anyOf": lambda e: "does not match any of the allowed forms",
}


# --- the rules beyond the schema -------------------------------------------------------------

_GATEWAYS = frozenset({"exclusive", "parallel_split", "parallel_join"})
_NEEDS = {
    "select": "options",
    "multiselect": "options",
    "checksum": "algorithm",
    "table": "columns",
}
_EXIT = "\0exit"  # the virtual node after every end, for post-dominators


@dataclass
class _Doc:
    """The document under check, what the schema rejected, and the problems found so far."""

    data: dict
    bad: set[Loc]
    directory: RoleCatalog | None
    found: list[tuple[Loc, str]] = field(default_factory=list)
    asked: dict[str, set[str] | None] = field(default_factory=dict)

    def add(self, loc: Loc, message: str) -> None:
        self.found.append((loc, message))

    def sound(self, loc: Loc) -> bool:
        """Whether the schema found nothing wrong at or inside `loc`."""
        return not any(bad[: len(loc)] == loc for bad in self.bad)

    def items(self, key: str) -> list[tuple[int, dict]]:
        seq = self.data.get(key)
        if not isinstance(seq, list):
            return []
        return [(i, item) for i, item in enumerate(seq) if isinstance(item, dict)]

    @cached_property
    def fields(self) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for _, item in self.items("fields"):
            if isinstance(item.get("key"), str):
                found.setdefault(item["key"], item)
        return found

    @cached_property
    def sound_fields(self) -> dict[str, dict]:
        """The fields whose definitions passed the schema (safe to compare values with)."""
        found: dict[str, dict] = {}
        for i, item in self.items("fields"):
            key = item.get("key")
            first = isinstance(key, str) and self.fields.get(key) is item
            if first and _definition_sound(self, ("fields", i), item):
                found[key] = item
        return found

    @cached_property
    def nodes(self) -> dict[str, tuple[int, dict]]:
        found: dict[str, tuple[int, dict]] = {}
        for i, item in self.items("nodes"):
            if isinstance(item.get("id"), str):
                found.setdefault(item["id"], (i, item))
        return found

    def kind(self, node_id: str) -> str | None:
        """The node's type; "" if its type is not valid, None if there is no such node."""
        entry = self.nodes.get(node_id)
        if entry is None:
            return None
        kind = entry[1].get("type")
        return kind if _one_of(kind, NODE_TYPES) else ""

    def catalog(self, name: str) -> set[str] | None:
        """`business_roles`, `general_roles` or `users` of the directory (asked once each)."""
        if self.directory is None:
            return None
        if name not in self.asked:
            self.asked[name] = getattr(self.directory, name)()
        return self.asked[name]


def _rule_problems(
    doc: dict, bad: set[Loc], directory: RoleCatalog | None
) -> list[tuple[Loc, str]]:
    d = _Doc(doc, bad, directory)
    graph = _Graph.build(d) if _graph_ready(d) else None
    _check_fields(d)
    _check_nodes(d, graph)
    _check_transitions(d, graph)
    if graph is not None:
        _check_graph(d, graph)
    return d.found


# --- fields ------------------------------------------------------------------------------------


def _check_fields(d: _Doc) -> None:
    seen: dict[str, int] = {}
    for i, item in d.items("fields"):
        loc = ("fields", i)
        _note_duplicate(d, seen, item.get("key"), (*loc, "key"))
        if _definition_sound(d, loc, item):
            _check_definition(d, loc, item)
        for key in ("required_when", "visible_when"):
            if key in item and d.sound((*loc, key)):
                _check_condition(d, (*loc, key), item[key], _Scope(owner=item.get("key")))


def _note_duplicate(d: _Doc, seen: dict, value: object, loc: Loc) -> None:
    """Report `value` (at `loc`, e.g. nodes[4].id) if an earlier item of the list has it."""
    if not isinstance(value, str):
        return
    if value in seen:
        d.add(loc, f"'{value}' is already used by {loc[-3]}[{seen[value]}]")
    else:
        seen[value] = loc[-2]


def _definition_sound(d: _Doc, loc: Loc, item: dict) -> bool:
    keys = ("key", "type", "options", "algorithm", "columns", "min", "max", "pattern")
    return _one_of(item.get("type"), FIELD_TYPES) and all(d.sound((*loc, key)) for key in keys)


def _check_definition(d: _Doc, loc: Loc, item: dict) -> None:
    _check_options(d, loc, item)
    judged = _check_pattern(d, loc, item) & _check_bounds(d, loc, item)
    if judged and _complete(item):
        _check_default(d, loc, item)
    if item["type"] == "table" and isinstance(item.get("columns"), list):
        seen: dict[str, int] = {}
        for j, column in enumerate(item["columns"]):
            _note_duplicate(d, seen, column.get("key"), (*loc, "columns", j, "key"))
            if _definition_sound(d, (*loc, "columns", j), column):
                _check_definition(d, (*loc, "columns", j), column)
    if item.get("required") is True and "required_when" in item:
        d.add((*loc, "required_when"), "has no effect: the field is always required")


def _complete(item: dict) -> bool:
    """Whether a field has what its type needs (options, algorithm, columns)."""
    kind = item.get("type")
    need = _NEEDS.get(kind) if isinstance(kind, str) else None
    return need is None or need in item


def _check_options(d: _Doc, loc: Loc, item: dict) -> None:
    seen: set = set()
    for k, value in enumerate(option_values(item)):
        if value in seen:
            d.add((*loc, "options", k), f"repeats the option value '{value}'")
        seen.add(value)


def _check_pattern(d: _Doc, loc: Loc, item: dict) -> bool:
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


def _check_bounds(d: _Doc, loc: Loc, item: dict) -> bool:
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


def _check_default(d: _Doc, loc: Loc, item: dict) -> None:
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


# --- conditions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scope:
    """Where a condition sits: on a field (`owner`) or on a transition leaving `gateway`."""

    owner: object = None
    gateway: object = None
    graph: _Graph | None = None


def _check_condition(d: _Doc, loc: Loc, cond: dict, scope: _Scope) -> None:
    for key in ("all", "any"):
        for k, part in enumerate(cond.get(key, [])):
            _check_condition(d, (*loc, key, k), part, scope)
    if "not" in cond:
        _check_condition(d, (*loc, "not"), cond["not"], scope)
    elif "field" in cond:
        _check_field_test(d, loc, cond, scope)
    elif "result" in cond:
        _check_result_test(d, loc, cond, scope)


def _check_field_test(d: _Doc, loc: Loc, cond: dict, scope: _Scope) -> None:
    key, op = cond["field"], cond["op"]
    item = d.fields.get(key)
    if item is None:
        d.add((*loc, "field"), f"no field has the key '{key}'{_did_you_mean(key, d.fields)}")
        return
    if key == scope.owner:
        d.add((*loc, "field"), "a field's condition cannot depend on the field itself")
        return
    if key not in d.sound_fields or not _complete(item):
        return  # the field definition itself is reported
    kind = item["type"]
    allowed = OPERATORS_BY_TYPE.get(kind, frozenset())
    if op not in allowed:
        ops = ", ".join(o for o in _operator_order() if o in allowed)
        d.add((*loc, "op"), f"'{op}' does not apply to {_a(kind)} field; use one of: {ops}")
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


def _check_result_test(d: _Doc, loc: Loc, cond: dict, scope: _Scope) -> None:
    node_id = cond["result"]
    kind = d.kind(node_id)
    if kind is None:
        d.add((*loc, "result"), f"no node has the id '{node_id}'{_did_you_mean(node_id, d.nodes)}")
    elif kind and kind != "approval":
        d.add((*loc, "result"), f"'{node_id}' is {_a(kind)} node; 'result' names an approval node")
    elif _never_before(scope.graph, node_id, scope.gateway):
        d.add(
            (*loc, "result"),
            f"approval '{node_id}' never comes before this gateway, so it has no result here",
        )


# --- nodes -------------------------------------------------------------------------------------


def _check_nodes(d: _Doc, graph: _Graph | None) -> None:
    seen: dict[str, int] = {}
    for i, node in d.items("nodes"):
        _note_duplicate(d, seen, node.get("id"), ("nodes", i, "id"))
        keys = node.get("fields")
        for k, key in enumerate(keys if isinstance(keys, list) else []):
            if isinstance(key, str) and key not in d.fields:
                suggestion = _did_you_mean(key, d.fields)
                d.add(("nodes", i, "fields", k), f"no field has the key '{key}'{suggestion}")
        operators = node.get("operators")
        for k, op in enumerate(operators if isinstance(operators, list) else []):
            if isinstance(op, dict) and d.sound(("nodes", i, "operators", k)):
                _check_operator(d, ("nodes", i, "operators", k), op, node, graph)
        approval = node.get("approval")
        returns = isinstance(approval, dict) and "return_to" in approval
        if returns and node.get("type") == "approval" and d.sound(("nodes", i, "approval")):
            _check_return(d, ("nodes", i, "approval", "return_to"), node, graph)
    _check_start_and_end(d)


def _check_start_and_end(d: _Doc) -> None:
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


def _check_operator(d: _Doc, loc: Loc, op: dict, node: dict, graph: _Graph | None) -> None:
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
            suggestion = _did_you_mean(op["role"], roles)
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


def _check_operator_field(d: _Doc, loc: Loc, key: str) -> None:
    item = d.fields.get(key)
    if item is None:
        d.add((*loc, "field"), f"no field has the key '{key}'{_did_you_mean(key, d.fields)}")
    elif item.get("type") not in ("member", "members"):
        d.add(
            (*loc, "field"),
            f"'{key}' is {_a(item.get('type'))} field; an operator's field must be of type "
            "member or members",
        )


def _check_handler(d: _Doc, loc: Loc, target: str, node: dict, graph: _Graph | None) -> None:
    kind = d.kind(target)
    if kind is None:
        d.add((*loc, "node"), f"no node has the id '{target}'{_did_you_mean(target, d.nodes)}")
    elif kind and kind not in HUMAN_NODE_TYPES:
        d.add(
            (*loc, "node"),
            f"'{target}' is {_a(kind)} node; node_handler names a human node "
            "(start, task or approval)",
        )
    elif _never_before(graph, target, node.get("id")):
        d.add((*loc, "node"), f"'{target}' never comes before this node, so it has no handler")


def _check_return(d: _Doc, loc: Loc, node: dict, graph: _Graph | None) -> None:
    target = node["approval"]["return_to"]
    kind = d.kind(target)
    if kind is None:
        d.add(loc, f"no node has the id '{target}'{_did_you_mean(target, d.nodes)}")
    elif kind and kind not in HUMAN_NODE_TYPES:
        d.add(loc, f"'{target}' is {_a(kind)} node; return_to names a start, task or approval node")
    elif target == node.get("id"):
        d.add(loc, "an approval cannot return to itself; name an earlier node")
    elif _never_before(graph, target, node.get("id"), returns=False):
        d.add(loc, f"'{target}' never comes before this node, so the ticket cannot go back there")


# --- transitions -------------------------------------------------------------------------------


def _check_transitions(d: _Doc, graph: _Graph | None) -> None:
    pairs: dict[tuple, int] = {}
    for i, item in d.items("transitions"):
        loc = ("transitions", i)
        for end in ("from", "to"):
            ref = item.get(end)
            if isinstance(ref, str) and d.sound((*loc, end)) and ref not in d.nodes:
                d.add((*loc, end), f"no node has the id '{ref}'{_did_you_mean(ref, d.nodes)}")
        pair = (item.get("from"), item.get("to"))
        if all(isinstance(ref, str) for ref in pair) and pair in pairs:
            d.add(loc, f"repeats transitions[{pairs[pair]}] (the same from and to)")
        elif all(isinstance(ref, str) for ref in pair):
            pairs[pair] = i
        if "when" in item and d.sound((*loc, "when")):
            scope = _Scope(gateway=item.get("from"), graph=graph)
            _check_condition(d, (*loc, "when"), item["when"], scope)


# --- the graph ---------------------------------------------------------------------------------


def _graph_ready(d: _Doc) -> bool:
    """Whether nodes and transitions are shaped well enough to reason about the graph."""
    nodes, transitions = d.data.get("nodes"), d.data.get("transitions")
    if not isinstance(nodes, list) or not isinstance(transitions, list):
        return False
    return all(map(_node_ready, nodes)) and all(map(_transition_ready, transitions))


def _node_ready(node: object) -> bool:
    if not isinstance(node, dict) or not isinstance(node.get("id"), str):
        return False
    if node.get("type") != "approval":
        return _one_of(node.get("type"), NODE_TYPES)
    approval = node.get("approval", {})
    return (
        isinstance(approval, dict)
        and _one_of(approval.get("on_reject", "terminate"), ("terminate", "branch", "return"))
        and isinstance(approval.get("return_to", ""), str)
    )


def _transition_ready(item: object) -> bool:
    return (
        isinstance(item, dict)
        and isinstance(item.get("from"), str)
        and isinstance(item.get("to"), str)
        and item.get("default", True) is True
        and _one_of(item.get("outcome", "approved"), ("approved", "rejected"))
    )


@dataclass
class _Graph:
    """Nodes (first of each id, in document order) and the transitions between known nodes."""

    kind: dict[str, str]
    index: dict[str, int]
    approval: dict[str, dict]
    returns: dict[str, str]  # approval -> the node it returns to on rejection
    outs: dict[str, list[tuple[int, dict]]]
    ins: dict[str, list[tuple[int, dict]]]
    start: str | None
    linked: bool  # every transition joins two known nodes
    complete: bool  # linked, with unique ids, one start and an end

    @classmethod
    def build(cls, d: _Doc) -> _Graph:
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
            returns={
                n: a["return_to"]
                for n, a in approval.items()
                if a.get("on_reject") == "return" and a.get("return_to") in kind
            },
            outs=outs,
            ins=ins,
            start=starts[0] if len(starts) == 1 else None,
            linked=linked,
            complete=complete,
        )

    def loc(self, node_id: str) -> Loc:
        return ("nodes", self.index[node_id])

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


def _never_before(graph: _Graph | None, earlier: str, later: object, returns: bool = True) -> bool:
    """Whether the graph shows that `earlier` can never be followed by `later`."""
    if graph is None or not graph.linked or not isinstance(later, str) or later not in graph.kind:
        return False
    return later not in graph.reach(graph.succ(earlier, returns), returns=returns)


def _check_graph(d: _Doc, g: _Graph) -> None:
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
        _check_blocks(d, g)


def _check_placement(d: _Doc, g: _Graph) -> None:
    for node_id, ways in g.outs.items():
        kind = g.kind[node_id]
        for i, item in ways:
            for key in ("when", "default"):
                if key in item and kind != "exclusive":
                    d.add(
                        ("transitions", i, key),
                        f"'{key}' is only used on transitions leaving an exclusive gateway "
                        f"('{node_id}' is {_a(kind)} node)",
                    )
            if "outcome" in item and not g.branches(node_id):
                d.add(
                    ("transitions", i, "outcome"),
                    "'outcome' is only used on transitions leaving an approval node with "
                    "on_reject: branch",
                )


def _check_ways_out(d: _Doc, g: _Graph, node_id: str) -> None:
    kind, ways, loc = g.kind[node_id], g.outs[node_id], g.loc(node_id)
    if kind in HUMAN_NODE_TYPES and not g.branches(node_id) and len(ways) != 1:
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
        return f"{_a(kind)} node needs one outgoing transition, and it has none"
    names = ", ".join(f"'{target}'" for target in targets)
    return (
        f"{_a(kind)} node has exactly one outgoing transition, but {len(targets)} leave it (to "
        f"{names}); choose a path with an exclusive gateway or take several with a parallel_split"
    )


def _check_outcomes(d: _Doc, loc: Loc, ways: list[tuple[int, dict]]) -> None:
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


def _check_exclusive(d: _Doc, loc: Loc, ways: list[tuple[int, dict]]) -> None:
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


def _check_reachable(d: _Doc, g: _Graph) -> None:
    reached = g.reach([g.start]) if g.start else set(g.kind)
    ends = [node_id for node_id, kind in g.kind.items() if kind == "end"]
    finishing = g.reach(ends, back=True) if ends else set(g.kind)
    for node_id in g.kind:
        if node_id not in reached:
            d.add(g.loc(node_id), "cannot be reached from the start node")
        elif node_id not in finishing:
            d.add(g.loc(node_id), "no path leads from this node to an end node")


def _check_gateway_loops(d: _Doc, g: _Graph) -> None:
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


# --- parallel blocks -------------------------------------------------------------------------


def _dominator_tree(root: str, succ: dict[str, list[str]]) -> dict[str, str]:
    """Immediate dominators of the nodes reachable from `root` (Cooper, Harvey and Kennedy):
    every path from `root` to a node passes its dominators."""
    order, seen, stack = [], {root}, [(root, iter(succ[root]))]
    while stack:  # depth-first, to number the nodes in reverse postorder
        node, children = stack[-1]
        child = next(children, None)
        if child is None:
            order.append(node)
            stack.pop()
        elif child not in seen:
            seen.add(child)
            stack.append((child, iter(succ[child])))
    order.reverse()
    rank = {node: i for i, node in enumerate(order)}
    preds: dict[str, list[str]] = {node: [] for node in order}
    for node in order:
        for child in succ[node]:
            preds[child].append(node)
    idom = {root: root}
    changed = True
    while changed:
        changed = False
        for node in order[1:]:
            new = None
            for pred in (p for p in preds[node] if p in idom):
                new = pred if new is None else _meet(pred, new, idom, rank)
            if new is not None and idom.get(node) != new:
                idom[node], changed = new, True
    return idom


def _meet(a: str, b: str, idom: dict[str, str], rank: dict[str, int]) -> str:
    while a != b:
        while rank[a] > rank[b]:
            a = idom[a]
        while rank[b] > rank[a]:
            b = idom[b]
    return a


def _dominated(node: str, by: str, idom: dict[str, str]) -> bool:
    while node != by:
        if idom.get(node, node) == node:
            return False
        node = idom[node]
    return True


def _check_blocks(d: _Doc, g: _Graph) -> None:
    """Every parallel_split opens a block that its own parallel_join closes (nesting allowed)."""
    order = list(g.kind)
    splits = [n for n in order if g.kind[n] == "parallel_split"]
    if not splits and "parallel_join" not in g.kind.values():
        return
    assert g.start is not None
    dom = _dominator_tree(g.start, {n: g.succ(n) for n in order})
    ends = [n for n in order if g.kind[n] == "end"]
    post = _dominator_tree(_EXIT, {_EXIT: ends, **{n: g.pred(n) for n in order}})
    closing = {split: post.get(split) for split in splits}
    if not all([_closes(d, g, split, join) for split, join in closing.items()]):
        return
    if not _check_join_matches(d, g, closing):
        return
    contexts: dict[str, list[tuple[int, str, int]]] = {n: [] for n in order}
    sound = True
    for split, join in closing.items():
        assert join is not None
        inside = {n for n in order if _dominated(n, split, dom) and _dominated(n, join, post)} - {
            split,
            join,
        }
        sound &= _block_edges(d, g, split, join, inside)
        sound &= _branches(d, g, split, join, inside, contexts)
    if sound:
        _check_return_branches(d, g, contexts)


def _closes(d: _Doc, g: _Graph, split: str, join: str | None) -> bool:
    if join is None or join == _EXIT or g.kind[join] == "end":
        d.add(g.loc(split), "its branches do not all meet at one parallel_join before an end")
        return False
    if g.kind[join] != "parallel_join":
        d.add(
            g.loc(split),
            f"its branches first meet at '{join}' ({_a(g.kind[join])} node) instead of at a "
            "parallel_join",
        )
        return False
    return True


def _check_join_matches(d: _Doc, g: _Graph, closing: dict[str, str | None]) -> bool:
    sound = True
    for join in [n for n in g.kind if g.kind[n] == "parallel_join"]:
        splits = [split for split, closer in closing.items() if closer == join]
        if not splits:
            d.add(g.loc(join), "no parallel_split opens a block that this join closes")
        elif len(splits) > 1:
            d.add(
                g.loc(join),
                f"closes the branches of several parallel_splits ({', '.join(splits)}); "
                "give each its own parallel_join",
            )
        sound &= len(splits) == 1
    return sound


def _block_edges(d: _Doc, g: _Graph, split: str, join: str, inside: set[str]) -> bool:
    """No transition crosses the block's border except into the split and out of the join."""
    sound, opened = True, inside | {split}
    block = f"the parallel block from '{split}' to '{join}'"
    for node_id, ways in g.outs.items():
        for i, item in ways:
            target = item["to"]
            if node_id in opened and target not in inside and target != join:
                d.add(
                    ("transitions", i),
                    f"leaves {block}: '{target}' is not inside it (a branch must stay in the "
                    "block until the join, and nothing outside may lead into a branch)",
                )
            elif node_id not in opened and (target in inside or target == join):
                d.add(
                    ("transitions", i),
                    f"leads into {block} from outside; only '{split}' starts its branches",
                )
            else:
                continue
            sound = False
    return sound


def _branches(
    d: _Doc,
    g: _Graph,
    split: str,
    join: str,
    inside: set[str],
    contexts: dict[str, list[tuple[int, str, int]]],
) -> bool:
    regions = []
    for branch, (_, item) in enumerate(g.outs[split]):
        start = item["to"]
        region = g.reach([start], returns=False, within=inside) if start != join else set()
        regions.append((start, region))
        for node_id in region:
            contexts[node_id].append((-len(inside), split, branch))
    sound = True
    for a, (first, mine) in enumerate(regions):
        for second, theirs in regions[a + 1 :]:
            if common := [n for n in g.kind if n in mine & theirs]:
                d.add(
                    g.loc(split),
                    f"the branches to '{first}' and '{second}' meet at "
                    f"'{common[0]}' before the join '{join}'",
                )
                sound = False
        arrivals = sum(1 for _, item in g.ins[join] if item["from"] in mine) if mine else 1
        if arrivals != 1:
            d.add(
                g.loc(split),
                f"the branch to '{first}' reaches the join '{join}' by {arrivals} "
                "transitions, and the join waits for a token on each; let the paths of a "
                "branch meet (e.g. at a task) before the join",
            )
            sound = False
    return sound


def _check_return_branches(
    d: _Doc, g: _Graph, contexts: dict[str, list[tuple[int, str, int]]]
) -> None:
    """A return may go back within its branch or out of its block, not into a sibling branch."""
    for node_id, target in g.returns.items():
        here, there = sorted(contexts[node_id]), sorted(contexts[target])
        for mine, theirs in zip(here, there, strict=False):
            if mine != theirs:
                d.add(
                    ("nodes", g.index[node_id], "approval", "return_to"),
                    f"'{target}' lies in another branch of the parallel block that '{theirs[1]}' "
                    "opens; a return can go back within its branch or out of the block",
                )
                break
