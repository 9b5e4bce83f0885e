"""Durations, work calendars and working time (wall clock, weekends, holidays, DST)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowdesk.engine import (
    Sla,
    Timer,
    WorkCalendar,
    add_working_time,
    parse_duration,
    working_seconds_between,
)
from flowdesk.engine.calendar import MAX_DURATION

SHANGHAI = WorkCalendar(
    timezone="Asia/Shanghai", holidays=frozenset({date(2026, 10, 1), date(2026, 10, 2)})
)
BERLIN_NIGHTS = WorkCalendar(  # 00:00-06:00 every day: both DST changes fall inside
    timezone="Europe/Berlin", weekdays=frozenset(range(7)), start=time(0), end=time(6)
)


def at(text: str, zone: str = "Asia/Shanghai") -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


# --- durations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("90m", 5400), ("4h", 14400), ("2d", 172800), ("1h30m", 5400),
     ("1d2h3m4s", 93784), ("3650d", MAX_DURATION)],
)  # fmt: skip
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "'' is not a duration: write a duration such as 30s, 90m, 4h, 2d or 1h30m "
             "(units d, h, m, s in that order)."),
        ("30m1h", "'30m1h' is not a duration: write a duration such as 30s, 90m, 4h, 2d or "
                  "1h30m (units d, h, m, s in that order)."),
        ("4 h", "'4 h' is not a duration"),
        ("1.5h", "'1.5h' is not a duration"),
        ("1" * 30 + "s", "is not a duration"),
        ("0s", "'0s' is no time at all: a duration must be at least 1s."),
        ("0d0h", "'0d0h' is no time at all"),
        ("3651d", "'3651d' is too long: a duration is at most 3650d (ten years)."),
        (90, "A duration is a string: write a duration such as 30s, 90m, 4h, 2d or 1h30m."),
    ],
)  # fmt: skip
def test_parse_duration_refuses(value: object, message: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_duration(value)
    assert message in str(error.value)


@given(st.tuples(*[st.integers(0, 40)] * 4).filter(any))
def test_parse_duration_adds_up_the_units(parts: tuple[int, int, int, int]) -> None:
    text = "".join(f"{n}{unit}" for n, unit in zip(parts, "dhms", strict=True) if n)
    days, hours, minutes, seconds = parts
    assert parse_duration(text) == ((days * 24 + hours) * 60 + minutes) * 60 + seconds


# --- calendars -------------------------------------------------------------------------------


def test_calendar_json_round_trip() -> None:
    data = {
        "timezone": "Asia/Shanghai",
        "weekdays": [0, 1, 2, 3, 4, 5],
        "start": "08:30",
        "end": "17:45",
        "holidays": ["2026-10-01", "2026-01-01"],
    }
    cal = WorkCalendar.from_json(data)
    assert cal.start == time(8, 30) and cal.weekdays == frozenset(range(6))
    assert cal.to_json() == {**data, "holidays": ["2026-01-01", "2026-10-01"]}
    assert WorkCalendar.from_json(cal.to_json()) == cal
    assert WorkCalendar.from_json({}) == WorkCalendar()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "A work calendar is an object (timezone, weekdays, start, end, ...)."),
        ({"tz": "UTC"}, "A work calendar has no key 'tz'."),
        ({"timezone": "Mars/Base"}, "'Mars/Base' is not a time zone name; use one such as "
                                    "Asia/Shanghai or UTC."),
        ({"timezone": "../etc"}, "is not a time zone name"),
        ({"timezone": 8}, "timezone: give a time zone name such as Asia/Shanghai."),
        ({"weekdays": []}, "Working weekdays are a non-empty set of 0 (Monday) to 6 (Sunday)."),
        ({"weekdays": [7]}, "Working weekdays are a non-empty set"),
        ({"weekdays": [True]}, "weekdays: give a list of numbers, 0 (Monday) to 6 (Sunday)."),
        ({"start": "9:00"}, "start: give a time of day as HH:MM, e.g. 09:00."),
        ({"end": "24:00"}, "end: give a time of day as HH:MM, e.g. 09:00."),
        ({"start": "18:00", "end": "09:00"}, "The working day must end after it starts (18:00 "
                                             "to 09:00); it cannot run past midnight."),
        ({"holidays": "2026-10-01"}, "holidays: give a list of dates as YYYY-MM-DD."),
        ({"holidays": ["2026-13-01"]}, "holidays: '2026-13-01' is not a date as YYYY-MM-DD."),
    ],
)  # fmt: skip
def test_calendar_refuses(data: object, message: str) -> None:
    with pytest.raises(ValueError) as error:
        WorkCalendar.from_json(data)
    assert message in str(error.value)


def test_calendar_times_are_local() -> None:
    with pytest.raises(ValueError, match="local times of day, without a time zone"):
        WorkCalendar(start=time(9, tzinfo=UTC))


# --- working time ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        ("2026-11-27 10:00", "2h", "2026-11-27 12:00"),  # a Friday, within the day
        ("2026-11-27 17:00", "2h", "2026-11-30 10:00"),  # over the weekend
        ("2026-11-28 11:00", "1h", "2026-11-30 10:00"),  # from a Saturday
        ("2026-11-27 07:00", "1h", "2026-11-27 10:00"),  # before opening
        ("2026-11-27 20:00", "9h", "2026-11-30 18:00"),  # a whole day, ending at closing
        ("2026-11-27 09:00", "2d", "2026-12-04 12:00"),  # 48 working hours: 5⅓ days
        ("2026-09-30 17:00", "2h", "2026-10-05 10:00"),  # the holidays, then a weekend
    ],
)
def test_add_working_time(start: str, duration: str, expected: str) -> None:
    result = add_working_time(at(start), parse_duration(duration), SHANGHAI)
    assert result == at(expected) and result.tzinfo == UTC
    assert working_seconds_between(at(start), result, SHANGHAI) == parse_duration(duration)


def test_wall_clock_counts_real_seconds_across_dst() -> None:
    before = at("2026-03-29 01:30", "Europe/Berlin")  # clocks jump from 02:00 to 03:00
    after = add_working_time(before, 3600, None)
    assert after.astimezone(ZoneInfo("Europe/Berlin")).hour == 3
    assert working_seconds_between(before, after, None) == 3600
    assert working_seconds_between(after, before, None) == 0


def test_working_days_that_span_a_dst_change() -> None:
    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)
    for day, hours in ((spring, 5), (autumn, 7), (date(2026, 6, 1), 6)):
        begin, end = BERLIN_NIGHTS.working_hours(day)
        assert end - begin == timedelta(hours=hours)
        assert working_seconds_between(begin, end + timedelta(hours=1), BERLIN_NIGHTS) == (
            hours * 3600
        )
    start = at("2026-03-29 00:00", "Europe/Berlin")
    assert add_working_time(start, 5 * 3600, BERLIN_NIGHTS) == at(
        "2026-03-29 06:00", "Europe/Berlin"
    )
    assert add_working_time(start, 5 * 3600 + 1, BERLIN_NIGHTS) == (
        at("2026-03-30 00:00:01", "Europe/Berlin")
    )


def test_adding_nothing_stays_put_and_odd_inputs_are_refused() -> None:
    saturday = at("2026-11-28 11:00")
    assert add_working_time(saturday, 0, SHANGHAI) == saturday
    with pytest.raises(ValueError, match="aware datetimes"):
        add_working_time(datetime(2026, 1, 1), 60, None)
    with pytest.raises(ValueError, match="negative"):
        add_working_time(saturday, -1, SHANGHAI)


def test_a_calendar_too_thin_for_the_time_is_refused() -> None:
    one_minute = WorkCalendar(weekdays=frozenset({0}), start=time(9), end=time(9, 1))
    with pytest.raises(ValueError, match="too little working time"):
        add_working_time(at("2026-01-01 00:00", "UTC"), MAX_DURATION, one_minute)


# --- properties ------------------------------------------------------------------------------

ZONES = ["UTC", "Asia/Shanghai", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
         "America/Sao_Paulo"]  # fmt: skip
MOMENTS = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31))


@st.composite
def calendars(draw: st.DrawFn, daytime: bool = False) -> WorkCalendar:
    """Random calendars with at least an hour of work a week (so searches stay short)."""
    first, last = (6 * 60, 23 * 60) if daytime else (0, 24 * 60 - 1)
    start = draw(st.integers(first, last - 60))
    end = draw(st.integers(start + 60, last))
    return WorkCalendar(
        timezone=draw(st.sampled_from(ZONES)),
        weekdays=frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
        start=time(start // 60, start % 60),
        end=time(end // 60, end % 60),
        holidays=frozenset(draw(st.sets(st.dates(date(2024, 1, 1), date(2029, 12, 31))))),
    )


def aware(moment: datetime, zone: str) -> datetime:
    return moment.replace(tzinfo=ZoneInfo(zone))


PROPERTY = settings(max_examples=200, deadline=None)


@pytest.mark.slow
@PROPERTY
@given(calendars() | st.none(), MOMENTS, st.sampled_from(ZONES), st.integers(0, 5 * 86400))
def test_adding_then_measuring_gives_the_seconds_back(cal, moment, zone, seconds) -> None:
    start = aware(moment, zone)
    result = add_working_time(start, seconds, cal)
    assert working_seconds_between(start, result, cal) == seconds
    if seconds:  # the earliest such moment: a second earlier, a second is missing
        assert working_seconds_between(start, result - timedelta(seconds=1), cal) == seconds - 1


@pytest.mark.slow
@PROPERTY
@given(calendars(), MOMENTS, st.integers(1, 3 * 86400), st.integers(0, 3 * 86400))
def test_adding_in_two_goes_is_adding_once(cal, moment, first, second) -> None:
    start = aware(moment, "UTC")
    once = add_working_time(start, first + second, cal)
    assert add_working_time(add_working_time(start, first, cal), second, cal) == once
    assert add_working_time(start, first, cal) <= once


@pytest.mark.slow
@PROPERTY
@given(calendars(daytime=True), MOMENTS, st.integers(1, 5 * 86400))
def test_results_fall_in_working_hours(cal, moment, seconds) -> None:
    """Checked on the local clock (hours kept clear of the night-time DST changes)."""
    result = add_working_time(aware(moment, "UTC"), seconds, cal)
    local = result.astimezone(ZoneInfo(cal.timezone))
    assert local.weekday() in cal.weekdays and local.date() not in cal.holidays
    assert cal.start < local.time() <= cal.end


@pytest.mark.slow
@PROPERTY
@given(calendars(), MOMENTS, st.timedeltas(timedelta(days=-5), timedelta(days=60)))
def test_measuring_is_never_more_than_the_wall_clock(cal, moment, span) -> None:
    a = aware(moment, "UTC")
    assert (
        0 <= working_seconds_between(a, a + span, cal) <= working_seconds_between(a, a + span, None)
    )


# --- deadlines -------------------------------------------------------------------------------


def test_sla_deadline_and_warning() -> None:
    opened = at("2026-11-27 16:00")  # a Friday
    sla = Sla(due=4 * 3600)
    assert sla.deadline(opened, SHANGHAI) == at("2026-11-30 11:00")
    assert sla.warning(opened, SHANGHAI) == at("2026-11-30 10:12")  # 80 %: 3h12m
    assert sla.deadline(opened, None) == at("2026-11-27 20:00")
    # resumed at `opened` after a suspension that came when 3h30m were used
    assert sla.deadline(opened, SHANGHAI, used=12600) == at("2026-11-27 16:30")
    assert sla.warning(opened, SHANGHAI, used=12600) is None  # its moment had passed
    assert sla.warning(opened, SHANGHAI, used=10800) == at("2026-11-27 16:12")
    assert Sla(due=3600, warn_at=0).warning(opened, None) is None


def test_timer_due_at() -> None:
    arrived = at("2026-11-27 17:00")
    values = {"planned_at": "2026-11-28T02:00:00Z"}
    assert Timer(until_field="planned_at").due_at(values, arrived, None) == datetime(
        2026, 11, 28, 2, tzinfo=UTC
    )
    assert Timer(until_field="planned_at").due_at({}, arrived, None) is None
    assert Timer(after=7200).due_at(values, arrived, None) == at("2026-11-27 19:00")
    assert Timer(after=7200, calendar="cn").due_at(values, arrived, SHANGHAI) == (
        at("2026-11-30 10:00")
    )
