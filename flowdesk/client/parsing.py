"""Command-line values: `--field k=v` pairs and durations such as `500ms`, `10s`, `1h30m`.

Each parser raises `argparse.ArgumentTypeError`, so argparse reports a bad value as a usage
error (exit status 2) naming the option.
"""

import json
import re
from argparse import ArgumentTypeError
from pathlib import Path
from typing import Any

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def parse_duration(text: str) -> float:
    """`500ms`, `10s`, `2m`, `2h`, `1h30m` or a bare number of seconds → seconds (> 0)."""
    text = text.strip().lower()
    parts = _DURATION.findall(text)
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text)
    elif parts and "".join(n + unit for n, unit in parts) == text:
        seconds = sum(float(n) * _SECONDS[unit] for n, unit in parts)
    else:
        raise ArgumentTypeError(f"{text!r} is not a duration like 500ms, 10s, 2m or 2h")
    if seconds <= 0:
        raise ArgumentTypeError(f"{text!r} must be longer than zero")
    return seconds


def format_duration(seconds: float) -> str:
    """`2m10s`, `1h5s`, `500ms` (below a second) – the forms `parse_duration` reads back."""
    if seconds < 1 and (ms := round(seconds * 1000)):
        return f"{ms}ms"
    rest = int(seconds)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = "".join(f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n)
    return text or "0s"


def _reject_constant(name: str) -> None:
    raise ValueError(name)  # NaN and Infinity are not JSON a server accepts


def field_value(text: str) -> Any:
    """A JSON number, true/false, list, object or "quoted string" as that value; else the text.

    Quoting is the way to send digits as a string: `--field build='"0042"'`.
    """
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return text
    return text if value is None else value


def parse_field(arg: str) -> tuple[str, Any]:
    """`key=value` → (key, value); `key=@path` reads the value, as text, from a file."""
    key, sep, raw = arg.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ArgumentTypeError(f"{arg!r} is not key=value")
    if raw.startswith("@"):
        return key, _read(raw[1:])
    return key, field_value(raw)


def parse_attach(arg: str) -> tuple[str, Path]:
    """`FIELD=PATH` of `--attach`: a readable file to upload and name in an attachment field."""
    key, sep, raw = arg.partition("=")
    key, path = key.strip(), Path(raw)
    if not sep or not key or not raw:
        raise ArgumentTypeError(f"{arg!r} is not FIELD=PATH")
    if not path.is_file():
        raise ArgumentTypeError(f"cannot read {raw}: no such file")
    return key, path


def parse_fields_file(path: str) -> dict[str, Any]:
    """A JSON file holding one object of field values."""
    try:
        values = json.loads(_read(path))
    except ValueError as exc:
        raise ArgumentTypeError(f"{path}: not JSON ({exc})") from None
    if not isinstance(values, dict):
        raise ArgumentTypeError(f"{path}: must hold a JSON object of field values")
    return values


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise ArgumentTypeError(f"cannot read {path}: {reason}") from None


def merge_fields(file_values: dict[str, Any] | None, pairs: list[tuple[str, Any]]) -> dict:
    """The fields file's values, overridden by `--field` pairs in order."""
    return {**(file_values or {}), **dict(pairs)}
