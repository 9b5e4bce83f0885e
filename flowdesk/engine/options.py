"""A node's time and notification options: its SLA, its notification strategy (over the
workflow's) and a timer node's wait. Parsed by `definition.py`; the deadlines are computed here
so that every caller reads the document the same way."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from ._scalars import normalise_datetime
from .calendar import WorkCalendar, add_working_time, parse_duration
from .errors import DefinitionError

__all__ = [
    "NOTIFY_CHANNELS",
    "NOTIFY_EVENTS",
    "NOTIFY_TICKET_EVENTS",
    "Notify",
    "Sla",
    "Timer",
    "parse_duration_at",
    "parse_node_notify",
    "parse_notify",
    "parse_sla",
    "parse_timer",
]

NOTIFY_CHANNELS = ("email", "chat")
NOTIFY_EVENTS = (
    "task_opened", "approved", "rejected", "returned", "transferred", "finished", "terminated",
    "withdrawn", "urged", "sla_warning", "sla_breach", "automation_failed", "reminder",
)  # fmt: skip
# about the whole ticket: chosen by the workflow's settings.notify only, never by a node's
NOTIFY_TICKET_EVENTS = ("finished", "terminated", "withdrawn")


@dataclass(frozen=True)
class Notify:
    """Which channels carry which events; `remind_every` (seconds): repeat the to-do while a
    task stays open."""

    channels: tuple[str, ...] = ("email",)
    events: tuple[str, ...] = NOTIFY_EVENTS
    remind_every: int | None = None


@dataclass(frozen=True)
class Sla:
    """A step's due time: `due` seconds of (the named calendar's working) time after it opens;
    a warning at `warn_at` percent of it (0: none); on breach tell `escalate_to` (operator specs)
    and, with `reassign`, give them the step."""

    due: int
    calendar: str | None = None
    warn_at: int = 80
    escalate_to: tuple[dict, ...] = ()
    reassign: bool = False

    def deadline(self, since: datetime, calendar: WorkCalendar | None, used: int = 0) -> datetime:
        """When the step is overdue, counting from `since` with `used` seconds of the due time
        already spent (before a suspension paused the clock)."""
        return add_working_time(since, max(0, self.due - used), calendar)

    def warning(
        self, since: datetime, calendar: WorkCalendar | None, used: int = 0
    ) -> datetime | None:
        """When to warn, or None: no warning set, or its moment had passed within `used`."""
        at = self.due * self.warn_at // 100
        if not at or used >= at:
            return None
        return add_working_time(since, at - used, calendar)


@dataclass(frozen=True)
class Timer:
    """A timer node waits until the datetime in `until_field`, or `after` seconds (of the
    calendar's working time, if one is named)."""

    until_field: str | None = None
    after: int | None = None
    calendar: str | None = None

    def due_at(
        self, values: Mapping[str, Any], since: datetime, calendar: WorkCalendar | None
    ) -> datetime | None:
        """When the timer fires for a token that arrived at `since`; None if its datetime field
        is empty (the step then waits for an operator)."""
        if self.until_field is not None:
            moment = normalise_datetime(values.get(self.until_field))
            return datetime.fromisoformat(moment) if moment else None
        return add_working_time(since, self.after or 0, calendar)


# --- parsing -------------------------------------------------------------------------------

T = TypeVar("T")


def parse_duration_at(raw: object, path: str) -> int:
    try:
        return parse_duration(raw)
    except ValueError as error:
        raise DefinitionError(path, str(error)) from None


def _optional(raw: Mapping[str, Any], key: str, path: str, parse: Callable[..., T]) -> T | None:
    return parse(raw[key], f"{path}.{key}") if raw.get(key) is not None else None


def _object(raw: object, path: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise DefinitionError(path, "must be a mapping")
    return raw


def parse_notify(raw: object, path: str) -> Notify:
    """`settings.notify`: the old channel list (`[email]`) or the object form."""
    if isinstance(raw, list | tuple):
        return Notify(channels=tuple(raw))
    return Notify(**dict(parse_node_notify(raw, path)))


def parse_node_notify(raw: object, path: str) -> tuple[tuple[str, Any], ...]:
    """The keys a node's `notify` sets, parsed, for `Definition.notify_for` to lay over the
    workflow's strategy."""
    raw = _object(raw, path)
    given: dict[str, Any] = {}
    for key in ("channels", "events"):
        if key in raw:
            given[key] = tuple(raw[key])
    if "remind_every" in raw:
        given["remind_every"] = _optional(raw, "remind_every", path, parse_duration_at)
    return tuple(given.items())


def parse_sla(raw: object, path: str) -> Sla:
    raw = _object(raw, path)
    if "due" not in raw:
        raise DefinitionError(path, "'due' is missing")
    return Sla(
        due=parse_duration_at(raw["due"], f"{path}.due"),
        calendar=raw.get("calendar"),
        warn_at=int(raw.get("warn_at", 80)),
        escalate_to=tuple(dict(op) for op in raw.get("escalate_to") or ()),
        reassign=bool(raw.get("reassign", False)),
    )


def parse_timer(raw: object, path: str) -> Timer:
    raw = _object(raw, path)
    timer = Timer(
        until_field=raw.get("until_field"),
        after=_optional(raw, "after", path, parse_duration_at),
        calendar=raw.get("calendar"),
    )
    if (timer.until_field is None) == (timer.after is None):
        raise DefinitionError(path, "give either until_field or after")
    return timer
