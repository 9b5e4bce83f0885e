"""Field values: checking and normalising one value, and validating what a step submits.

Shared by the engine, the document validator, web forms, the API and the CLI, so a value is
judged the same way whichever door it comes through.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._scalars import is_empty, normalise_date, normalise_datetime, to_decimal
from .conditions import evaluate
from .errors import InvalidValues

if TYPE_CHECKING:
    from .definition import Definition

__all__ = ["FIELD_TYPES", "check_value", "is_empty", "option_values", "validate_node_values"]

FIELD_TYPES = frozenset(
    {
        "string", "text", "integer", "decimal", "boolean", "select", "multiselect", "date",
        "datetime", "url", "email", "member", "members", "checksum", "attachment", "table",
    }
)  # fmt: skip

_URL_SCHEMES = ("http", "https", "ftp", "s3")
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_USERNAME_RE = re.compile(r"[\w.@+-]+")
_INTEGER_RE = re.compile(r"[+-]?\d+")
_CHECKSUMS = {"md5": (32, "MD5"), "sha256": (64, "SHA-256")}
_ITEM_NOUNS = {"multiselect": "options", "members": "users", "attachment": "files", "table": "rows"}


def check_value(field: dict, value: object) -> object:
    """Check one non-empty value against a field definition; return it normalised.

    Raises ValueError with a sentence for the person who typed the value.
    """
    checker = _CHECKERS.get(field.get("type", ""))
    if checker is None:
        raise ValueError(f"Unknown field type '{field.get('type')}'.")
    return checker(field, value)


def option_values(field: dict) -> list[Any]:
    """The allowed values of a select/multiselect (options are `{value, label}` or plain)."""
    options = field.get("options") or []
    return [opt.get("value") if isinstance(opt, dict) else opt for opt in options]


# --- one checker per type ---------------------------------------------------------------


def _need_str(value: object, message: str) -> str:
    if not isinstance(value, str):
        raise ValueError(message)
    return value


def _string(field: dict, value: object) -> str:
    text = _need_str(value, "Enter text.")
    if "\n" in text or "\r" in text:
        raise ValueError("Enter a single line of text.")
    text = text.strip()
    _check_pattern(field, text)
    _check_length(field, text)
    return text


def _text(field: dict, value: object) -> str:
    text = _need_str(value, "Enter text.")
    _check_pattern(field, text)
    _check_length(field, text)
    return text


def _integer(field: dict, value: object) -> int:
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)  # JSON clients sometimes send 3.0
    elif isinstance(value, str) and _INTEGER_RE.fullmatch(value.strip()):
        number = int(value.strip())
    if number is None:
        raise ValueError("Enter a whole number.")
    _check_range(field, Decimal(number))
    return number


def _decimal(field: dict, value: object) -> str:
    number = to_decimal(value)
    if number is None:
        raise ValueError("Enter a number.")
    _check_range(field, number)
    return format(number, "f")


def _boolean(field: dict, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    raise ValueError("Enter true or false.")


def _select(field: dict, value: object) -> object:
    allowed = option_values(field)
    if isinstance(value, str):
        value = value.strip()
    if value not in allowed:
        raise ValueError(f"Choose one of: {', '.join(map(str, allowed))}.")
    return value


def _multiselect(field: dict, value: object) -> list:
    items = _unique_list(value, "Choose a list of options.", "is chosen more than once")
    allowed = option_values(field)
    for item in items:
        if item not in allowed:
            raise ValueError(f"Choose only from: {', '.join(map(str, allowed))}.")
    _check_items(field, items)
    return items


def _date(field: dict, value: object) -> str:
    day = normalise_date(value)
    if day is None:
        raise ValueError("Enter a date as YYYY-MM-DD.")
    low = normalise_date(str(field["min"])[:10]) if "min" in field else None
    high = normalise_date(str(field["max"])[:10]) if "max" in field else None
    if low and day < low:
        raise ValueError(f"Enter a date on or after {low}.")
    if high and day > high:
        raise ValueError(f"Enter a date on or before {high}.")
    return day


def _bound_datetime(bound: object) -> str | None:
    day = normalise_date(bound)
    return f"{day}T00:00:00Z" if day else normalise_datetime(bound)


def _datetime(field: dict, value: object) -> str:
    moment = normalise_datetime(value)
    if moment is None:
        raise ValueError(
            "Enter a date and time in ISO 8601 with a time zone, e.g. 2026-11-27T10:00:00Z."
        )
    low = _bound_datetime(field["min"]) if "min" in field else None
    high = _bound_datetime(field["max"]) if "max" in field else None
    if low and moment < low:
        raise ValueError(f"Enter a time on or after {low}.")
    if high and moment > high:
        raise ValueError(f"Enter a time on or before {high}.")
    return moment


def _url(field: dict, value: object) -> str:
    message = "Enter a URL starting with http://, https://, ftp:// or s3://."
    text = _need_str(value, message).strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        raise ValueError(message) from None
    if parts.scheme.lower() not in _URL_SCHEMES or not parts.netloc or re.search(r"\s", text):
        raise ValueError(message)
    _check_length(field, text)
    return text


def _email(field: dict, value: object) -> str:
    text = _need_str(value, "Enter an e-mail address.").strip()
    if not _EMAIL_RE.fullmatch(text):
        raise ValueError("Enter a valid e-mail address.")
    _check_length(field, text)
    return text


def _username(value: object) -> str:
    if not isinstance(value, str) or not _USERNAME_RE.fullmatch(value.strip()):
        raise ValueError("Enter a username.")
    return value.strip()


def _member(field: dict, value: object) -> str:
    return _username(value)


def _members(field: dict, value: object) -> list[str]:
    names = [_username(name) for name in _need_list(value, "Enter a list of usernames.")]
    _check_unique(names, "is named more than once")
    _check_items(field, names)
    return names


def _checksum(field: dict, value: object) -> str:
    length, label = _CHECKSUMS.get(field.get("algorithm", ""), (0, ""))
    if not length:
        raise ValueError(f"Unknown checksum algorithm '{field.get('algorithm')}'.")
    message = f"Enter a {length}-character hexadecimal {label} checksum."
    text = _need_str(value, message).strip()
    if not re.fullmatch(rf"[0-9a-fA-F]{{{length}}}", text):
        raise ValueError(message)
    return text.lower()


def _attachment(field: dict, value: object) -> list[str]:
    ids = []
    for item in _need_list(value, "Enter a list of attachment ids."):
        if isinstance(item, bool) or not isinstance(item, str | int) or is_empty(item):
            raise ValueError("Enter a list of attachment ids.")
        ids.append(str(item).strip())
    _check_items(field, ids)
    return ids


def _table(field: dict, value: object) -> list[dict]:
    columns = {
        column["key"]: column
        for column in field.get("columns") or []
        if isinstance(column, dict) and "key" in column
    }
    rows = [
        _table_row(columns, row, number)
        for number, row in enumerate(_need_list(value, "Enter a list of rows."), start=1)
    ]
    _check_items(field, rows)
    return rows


def _table_row(columns: dict[str, dict], row: object, number: int) -> dict:
    if not isinstance(row, dict):
        raise ValueError(f"Row {number}: enter an object of column values.")
    for key in row:
        if key not in columns:
            raise ValueError(f"Row {number} has no column '{key}'.")
    out: dict[str, object] = {}
    for key, column in columns.items():
        cell = row.get(key)
        if is_empty(cell):
            if column.get("required"):
                raise ValueError(f"Row {number}, column '{key}': this column is required.")
            out[key] = None
            continue
        try:
            out[key] = check_value(column, cell)
        except ValueError as error:
            raise ValueError(f"Row {number}, column '{key}': {error}") from None
    return out


_CHECKERS: dict[str, Callable[[dict, object], Any]] = {
    "string": _string, "text": _text, "integer": _integer, "decimal": _decimal,
    "boolean": _boolean, "select": _select, "multiselect": _multiselect, "date": _date,
    "datetime": _datetime, "url": _url, "email": _email, "member": _member,
    "members": _members, "checksum": _checksum, "attachment": _attachment, "table": _table,
}  # fmt: skip


# --- shared checks -------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _check_pattern(field: dict, text: str) -> None:
    pattern = field.get("pattern")
    if not pattern:
        return
    try:
        compiled = _compiled(pattern)
    except re.error:
        raise ValueError("This field's pattern is broken; ask an administrator.") from None
    if not compiled.fullmatch(text):
        raise ValueError("Enter a value in the expected format.")


def _num(bound: object) -> str:
    number = to_decimal(bound)
    return format(number, "f") if number is not None else str(bound)


def _check_length(field: dict, text: str) -> None:
    low, high = to_decimal(field.get("min")), to_decimal(field.get("max"))
    if low is not None and len(text) < low:
        raise ValueError(f"Enter at least {_num(low)} characters.")
    if high is not None and len(text) > high:
        raise ValueError(f"Enter at most {_num(high)} characters.")


def _check_range(field: dict, number: Decimal) -> None:
    low, high = to_decimal(field.get("min")), to_decimal(field.get("max"))
    if low is not None and number < low:
        raise ValueError(f"Enter a number of at least {_num(low)}.")
    if high is not None and number > high:
        raise ValueError(f"Enter a number of at most {_num(high)}.")


def _check_items(field: dict, items: list) -> None:
    noun = _ITEM_NOUNS.get(field.get("type", ""), "items")
    low, high = to_decimal(field.get("min")), to_decimal(field.get("max"))
    if low is not None and len(items) < low:
        raise ValueError(f"Give at least {_num(low)} {noun}.")
    if high is not None and len(items) > high:
        raise ValueError(f"Give at most {_num(high)} {noun}.")


def _need_list(value: object, message: str) -> list:
    if not isinstance(value, list | tuple):
        raise ValueError(message)
    return list(value)


def _check_unique(items: list, problem: str) -> None:
    seen: list = []
    for item in items:
        if item in seen:
            raise ValueError(f"'{item}' {problem}.")
        seen.append(item)


def _unique_list(value: object, message: str, problem: str) -> list:
    items = [item.strip() if isinstance(item, str) else item for item in _need_list(value, message)]
    _check_unique(items, problem)
    return items


# --- what a person submits at a step -------------------------------------------------------


def validate_node_values(
    defn: Definition,
    node_id: str,
    submitted: dict,
    current: dict,
    *,
    require: bool = True,
    known_users: Callable[[Iterable[str]], set[str]] | None = None,
    results: dict[str, str] | None = None,
) -> dict:
    """Validate the values a person submits at a step; return them normalised.

    Empty values become None ("cleared"). A field hidden by `visible_when` drops its submitted
    value and, if it held one, is cleared. With `require`, required visible fields must end up
    filled, counting values kept from earlier. Raises InvalidValues.
    """
    keys = defn.node(node_id).fields
    errors: dict[str, list[str]] = {}
    for key in submitted:
        if key not in keys:
            errors.setdefault(key, []).append(f"This step has no field '{key}'.")
    clean = _normalise_submitted(defn, keys, submitted, errors)
    if known_users is not None:
        _check_users(defn, clean, known_users, errors)
    merged = {**current, **{key: value for key, value in clean.items() if key not in errors}}
    for key in keys:
        field = defn.fields[key]
        if not _holds(field.get("visible_when"), merged, results, defn.fields, default=True):
            errors.pop(key, None)
            clean.pop(key, None)
            if not is_empty(current.get(key)):
                clean[key] = None  # a hidden field keeps no value
            continue
        required = field.get("required") or _holds(
            field.get("required_when"), merged, results, defn.fields, default=False
        )
        if require and required and key not in errors and is_empty(merged.get(key)):
            errors.setdefault(key, []).append("This field is required.")
    if errors:
        raise InvalidValues(errors)
    return clean


def _normalise_submitted(
    defn: Definition, keys: tuple[str, ...], submitted: dict, errors: dict[str, list[str]]
) -> dict:
    clean: dict[str, object] = {}
    for key in keys:
        if key not in submitted:
            continue
        value = submitted[key]
        if is_empty(value):
            clean[key] = None
            continue
        try:
            clean[key] = check_value(defn.fields[key], value)
        except ValueError as error:
            errors.setdefault(key, []).append(str(error))
    return clean


def _check_users(
    defn: Definition,
    clean: dict,
    known_users: Callable[[Iterable[str]], set[str]],
    errors: dict[str, list[str]],
) -> None:
    named: dict[str, list[str]] = {}
    for key, value in clean.items():
        kind = defn.fields[key].get("type")
        if value is not None and kind in {"member", "members"}:
            named[key] = [value] if kind == "member" else list(value)
    if not named:
        return
    existing = known_users({user for users in named.values() for user in users})
    for key, users in named.items():
        for user in users:
            if user not in existing:
                errors.setdefault(key, []).append(f"Unknown user '{user}'.")


def _holds(
    condition: dict | None,
    values: dict,
    results: dict[str, str] | None,
    fields: dict[str, dict],
    *,
    default: bool,
) -> bool:
    if not condition:
        return default
    return evaluate(condition, values, results or {}, fields)
