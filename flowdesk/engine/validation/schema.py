"""The published JSON Schema, and its errors in designers' words (keys and ids, never schema
keywords). jsonschema is imported on first use: the runtime engine does not need it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .problems import Loc, did_you_mean

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

SCHEMA_PATH = Path(__file__).parents[1] / "workflow.schema.json"


@cache
def workflow_schema() -> dict:
    """The published JSON Schema of the document (flowdesk/engine/workflow.schema.json)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def _schema_validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(workflow_schema())


def schema_problems(doc: object) -> Iterator[tuple[Loc, str]]:
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
                yield loc, f"'{key}' is not an allowed key here{did_you_mean(key, allowed)}"
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
    return f"must be one of: {', '.join(choices)}{did_you_mean(error.instance, choices)}"


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
