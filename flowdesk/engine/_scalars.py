"""Small value helpers shared by fields and conditions (kept apart to avoid an import cycle)."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

_DECIMAL_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|z|[+-]\d{2}(:?\d{2})?)"
)


def is_empty(value: object) -> bool:
    """Not filled in: None, "", whitespace only, or an empty list/dict."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | dict | set | frozenset):
        return len(value) == 0
    return False


def to_decimal(value: object) -> Decimal | None:
    """A number or numeric string as Decimal (floats via repr, so 0.1 stays 0.1); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str) and _DECIMAL_RE.fullmatch(value.strip()):
        try:
            return Decimal(value.strip())
        except InvalidOperation:  # pragma: no cover - the regex admits only valid numbers
            return None
    return None


def normalise_date(value: object) -> str | None:
    """`YYYY-MM-DD` if value is a valid date in that form, else None."""
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        return None


def normalise_datetime(value: object) -> str | None:
    """ISO 8601 with an offset → UTC `YYYY-MM-DDTHH:MM:SSZ`; None if not such a string."""
    if not isinstance(value, str) or not _DATETIME_RE.fullmatch(value.strip()):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("z", "Z"))
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
    )
