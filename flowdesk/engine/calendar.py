"""Durations and working time: `parse_duration("1h30m")`, `WorkCalendar`, and adding or measuring
time either on the wall clock or in a calendar's working hours.

Pure: the caller passes the moments in. Working time is counted in real elapsed seconds, day by
day in the calendar's time zone, so a working day that spans a DST change is an hour shorter or
longer, and a calendar day's hours are found from its local date, whatever the offset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ._scalars import normalise_date

__all__ = [
    "MAX_DURATION",
    "WorkCalendar",
    "add_working_time",
    "parse_duration",
    "working_seconds_between",
]

_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_DURATION_RE = re.compile(r"(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?")
MAX_DURATION = 3650 * 86400  # ten years
_SEARCH_DAYS = 36600  # a calendar with too little working time must not hang the search
_SECOND = timedelta(seconds=1)
_TIME_RE = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


def parse_duration(text: object) -> int:
    """`"30s"`, `"90m"`, `"4h"`, `"2d"`, `"1h30m"` → seconds. Units in the order d, h, m, s,
    each at most once; raises ValueError with a sentence for anything else."""
    example = "write a duration such as 30s, 90m, 4h, 2d or 1h30m"
    if not isinstance(text, str):
        raise ValueError(f"A duration is a string: {example}.")
    match = _DURATION_RE.fullmatch(text) if 0 < len(text) <= 24 else None
    if match is None:
        raise ValueError(f"'{text}' is not a duration: {example} (units d, h, m, s in that order).")
    seconds = sum(int(n) * size for n, (_, size) in zip(match.groups(), _UNITS, strict=True) if n)
    if seconds == 0:
        raise ValueError(f"'{text}' is no time at all: a duration must be at least 1s.")
    if seconds > MAX_DURATION:
        raise ValueError(f"'{text}' is too long: a duration is at most 3650d (ten years).")
    return seconds


@dataclass(frozen=True)
class WorkCalendar:
    """Working hours: `start` to `end` (local time of day, `start` < `end`) on `weekdays`
    (0 = Monday … 6 = Sunday) in `timezone`, except on `holidays` (local dates)."""

    timezone: str = "UTC"
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    start: time = time(9)
    end: time = time(18)
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        _zone(self.timezone)
        if not self.weekdays or not self.weekdays <= frozenset(range(7)):
            raise ValueError("Working weekdays are a non-empty set of 0 (Monday) to 6 (Sunday).")
        for moment in (self.start, self.end):
            if moment.tzinfo is not None:
                raise ValueError("Working hours are local times of day, without a time zone.")
        if self.start >= self.end:
            raise ValueError(
                f"The working day must end after it starts ({self.start:%H:%M} to "
                f"{self.end:%H:%M}); it cannot run past midnight."
            )

    @classmethod
    def from_json(cls, data: Any) -> WorkCalendar:
        """From `{"timezone": "Asia/Shanghai", "weekdays": [0, 1, 2, 3, 4], "start": "09:00",
        "end": "18:00", "holidays": ["2026-10-01"]}` (every key optional); ValueError if wrong."""
        if not isinstance(data, dict):
            raise ValueError("A work calendar is an object (timezone, weekdays, start, end, ...).")
        unknown = sorted(set(data) - {"timezone", "weekdays", "start", "end", "holidays"})
        if unknown:
            raise ValueError(f"A work calendar has no key '{unknown[0]}'.")
        weekdays = data.get("weekdays", [0, 1, 2, 3, 4])
        if not isinstance(weekdays, list) or not all(_is_int(day) for day in weekdays):
            raise ValueError("weekdays: give a list of numbers, 0 (Monday) to 6 (Sunday).")
        holidays = data.get("holidays", [])
        if not isinstance(holidays, list):
            raise ValueError("holidays: give a list of dates as YYYY-MM-DD.")
        timezone = data.get("timezone", "UTC")
        if not isinstance(timezone, str):
            raise ValueError("timezone: give a time zone name such as Asia/Shanghai.")
        return cls(
            timezone=timezone,
            weekdays=frozenset(weekdays),
            start=_time_of_day(data.get("start", "09:00"), "start"),
            end=_time_of_day(data.get("end", "18:00"), "end"),
            holidays=frozenset(_holiday(day) for day in holidays),
        )

    def to_json(self) -> dict:
        return {
            "timezone": self.timezone,
            "weekdays": sorted(self.weekdays),
            "start": f"{self.start:%H:%M}",
            "end": f"{self.end:%H:%M}",
            "holidays": sorted(day.isoformat() for day in self.holidays),
        }

    def working_hours(self, day: date) -> tuple[datetime, datetime] | None:
        """The working interval of a local date in UTC, or None on a day off. A start or end
        inside a DST gap is read with the offset before the change (Python's fold=0)."""
        if day.weekday() not in self.weekdays or day in self.holidays:
            return None
        zone = _zone(self.timezone)
        begin = datetime.combine(day, self.start, tzinfo=zone).astimezone(UTC)
        end = datetime.combine(day, self.end, tzinfo=zone).astimezone(UTC)
        return begin, max(begin, end)


def add_working_time(start: datetime, seconds: int, cal: WorkCalendar | None) -> datetime:
    """The earliest moment (in UTC) by which `seconds` of working time have passed since
    `start`; with no calendar, wall-clock time. With seconds > 0 it falls in working hours
    (possibly right at a day's end)."""
    cursor = _utc(start)
    if seconds < 0:
        raise ValueError("Cannot add a negative amount of time.")
    left = timedelta(seconds=seconds)
    if cal is None or seconds == 0:
        return cursor + left
    first = day = _local_date(cal, cursor)
    while (day - first).days < _SEARCH_DAYS:
        hours = cal.working_hours(day)
        if hours is not None and hours[1] > cursor:
            begin = max(cursor, hours[0])
            if left <= hours[1] - begin:
                return begin + left
            left -= hours[1] - begin
        day += timedelta(days=1)
    raise ValueError(f"The calendar has too little working time to fit {seconds} seconds.")


def working_seconds_between(a: datetime, b: datetime, cal: WorkCalendar | None) -> int:
    """Whole seconds of working time from `a` to `b` (0 if `b` is not after `a`); with no
    calendar, wall-clock seconds."""
    a, b = _utc(a), _utc(b)
    if b <= a:
        return 0
    if cal is None:
        return (b - a) // _SECOND
    total, day, last = timedelta(0), _local_date(cal, a), _local_date(cal, b)
    while day <= last:
        hours = cal.working_hours(day)
        if hours is not None:
            overlap = min(b, hours[1]) - max(a, hours[0])
            total += max(overlap, timedelta(0))
        day += timedelta(days=1)
    return total // _SECOND


# --- helpers -------------------------------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise ValueError(
            f"'{name}' is not a time zone name; use one such as Asia/Shanghai or UTC."
        ) from None


def _local_date(cal: WorkCalendar, moment: datetime) -> date:
    return moment.astimezone(_zone(cal.timezone)).date()


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("Working time is computed from aware datetimes (with a time zone).")
    return moment.astimezone(UTC)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _time_of_day(value: object, key: str) -> time:
    match = _TIME_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{key}: give a time of day as HH:MM, e.g. 09:00.")
    return time(int(match[1]), int(match[2]))


def _holiday(value: object) -> date:
    day = normalise_date(value)
    if day is None:
        raise ValueError(f"holidays: '{value}' is not a date as YYYY-MM-DD.")
    return date.fromisoformat(day)
