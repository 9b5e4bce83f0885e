"""Timers are written, paused, resumed and cancelled with the ticket action that causes it."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from flowdesk.sla.actions import do_save_calendar
from flowdesk.sla.models import Timer, WorkCalendar
from flowdesk.tickets import actions

from .conftest import MONDAY_10, chain, open_task, step, timers

pytestmark = pytest.mark.django_db
Kind, Status = Timer.Kind, Timer.Status


def test_a_step_with_an_sla_gets_a_warning_and_a_breach_timer_when_it_opens(open_ticket, clock):
    ticket = open_ticket(chain("sla", [step("review", sla={"due": "4h", "warn_at": 75})]))

    found = timers(ticket)
    assert set(found) == {Kind.SLA_WARNING, Kind.SLA_BREACH}
    assert found[Kind.SLA_WARNING].due_at == MONDAY_10 + timedelta(hours=3)
    assert found[Kind.SLA_BREACH].due_at == MONDAY_10 + timedelta(hours=4)
    task = open_task(ticket, "review")
    assert {t.task_id for t in found.values()} == {task.pk}
    assert {t.status for t in found.values()} == {Status.PENDING}


def test_warn_at_zero_sets_no_warning(open_ticket, clock):
    ticket = open_ticket(chain("no-warning", [step("review", sla={"due": "1h", "warn_at": 0})]))

    assert set(timers(ticket)) == {Kind.SLA_BREACH}


def test_remind_every_sets_a_reminder_of_the_open_to_do(open_ticket, clock):
    document = chain("remind", [step("review", notify={"remind_every": "2h"})])

    ticket = open_ticket(document)

    (reminder,) = Timer.objects.filter(ticket=ticket)
    assert (reminder.kind, reminder.due_at) == (Kind.REMINDER, MONDAY_10 + timedelta(hours=2))


def test_the_workflows_remind_every_applies_to_every_step_people_handle(open_ticket, clock):
    document = chain("remind-all", [step("review")], settings={"notify": {"remind_every": "1d"}})

    ticket = open_ticket(document)

    assert timers(ticket)[Kind.REMINDER].due_at == MONDAY_10 + timedelta(days=1)


def test_due_times_count_working_hours_of_the_named_calendar(open_ticket, clock):
    do_save_calendar(
        "workdays",
        timezone="Asia/Shanghai",
        weekdays=[0, 1, 2, 3, 4],
        start=time(9),
        end=time(18),
        holidays=["2026-11-24"],
        actor=None,
    )
    # Monday 17:00 in Shanghai: one working hour left today, Tuesday is a holiday.
    clock.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    document = chain("hours", [step("review", sla={"due": "4h", "calendar": "workdays"})])

    ticket = open_ticket(document)

    breach = timers(ticket)[Kind.SLA_BREACH]
    # 1 h on Monday, then 3 h from Wednesday 09:00 Shanghai (01:00 UTC).
    assert breach.due_at == datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
    assert breach.calendar == "workdays"


def test_a_timer_step_waits_for_its_datetime_field(open_ticket, clock):
    document = chain(
        "planned",
        [{"id": "wait", "type": "timer", "name": "Wait", "timer": {"until_field": "planned_at"}}],
        start_fields=["planned_at"],
        fields=[{"key": "planned_at", "type": "datetime", "label": "Planned"}],
    )

    ticket = open_ticket(document, values={"planned_at": "2026-11-28T02:00:00+08:00"})

    (timer,) = Timer.objects.filter(ticket=ticket)
    assert timer.kind == Kind.TIMER_NODE
    assert timer.due_at == datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    assert timer.task == open_task(ticket, "wait")


def test_a_timer_step_with_an_empty_field_waits_for_a_person_and_says_so(open_ticket, clock):
    document = chain(
        "unplanned",
        [{"id": "wait", "type": "timer", "name": "Wait", "timer": {"until_field": "planned_at"}}],
        start_fields=["planned_at"],
        fields=[{"key": "planned_at", "type": "datetime", "label": "Planned"}],
    )

    ticket = open_ticket(document)

    assert not Timer.objects.filter(ticket=ticket).exists()
    problem = ticket.events.get(kind="timer_problem")
    assert problem.data == {"problem": "no_datetime", "field": "planned_at", "source": "system"}
    assert (problem.node_id, problem.actor) == ("wait", None)


def test_a_timer_step_after_a_duration(open_ticket, clock):
    document = chain(
        "after", [{"id": "wait", "type": "timer", "name": "Wait", "timer": {"after": "90m"}}]
    )

    ticket = open_ticket(document)

    assert timers(ticket)[Kind.TIMER_NODE].due_at == MONDAY_10 + timedelta(minutes=90)


def test_a_calendar_that_vanished_counts_on_the_wall_clock_and_the_history_says_so(
    open_ticket, clock, users
):
    """Deploy refuses unknown calendars; a version deployed before a calendar was lost still
    runs, and says so."""
    do_save_calendar("gone", actor=None)
    document = chain("lost", [step("review", sla={"due": "2h", "calendar": "gone"})])
    first = open_ticket(document, title="before")
    WorkCalendar.objects.filter(name="gone").delete()  # no action deletes calendars: simulate

    ticket = actions.do_submit_ticket(first.service, actor=users.pm_alice, title="after", values={})

    breach = timers(ticket)[Kind.SLA_BREACH]
    assert (breach.due_at, breach.calendar) == (MONDAY_10 + timedelta(hours=2), "")
    problem = ticket.events.get(kind="timer_problem")
    assert problem.data == {"problem": "unknown_calendar", "calendar": "gone", "source": "system"}


def test_suspending_stops_the_clock_and_resuming_moves_the_due_time_by_the_pause(
    open_ticket, clock, users
):
    ticket = open_ticket(chain("pause", [step("review", sla={"due": "4h", "warn_at": 50})]))
    clock.advance(hours=1)

    actions.do_suspend_ticket(ticket, actor=users.ops_carol, reason="waiting for the vendor")

    paused = timers(ticket)
    assert {t.status for t in paused.values()} == {Status.PAUSED}
    assert paused[Kind.SLA_WARNING].remaining_seconds == 3600
    assert paused[Kind.SLA_BREACH].remaining_seconds == 3 * 3600

    clock.advance(hours=30)
    actions.do_resume_ticket(ticket, actor=users.ops_carol)

    resumed = timers(ticket)
    assert {t.status for t in resumed.values()} == {Status.PENDING}
    assert resumed[Kind.SLA_WARNING].due_at == MONDAY_10 + timedelta(hours=32)
    assert resumed[Kind.SLA_BREACH].due_at == MONDAY_10 + timedelta(hours=34)
    assert {t.remaining_seconds for t in resumed.values()} == {None}


def test_a_paused_working_hours_clock_keeps_working_time_not_wall_time(open_ticket, clock, users):
    do_save_calendar("office", start=time(9), end=time(17), actor=None)  # UTC, Mon–Fri
    ticket = open_ticket(chain("office", [step("review", sla={"due": "3h", "calendar": "office"})]))
    clock.now = MONDAY_10 + timedelta(hours=2)  # 12:00: 2 h used, 1 h left

    actions.do_suspend_ticket(ticket, actor=users.ops_carol, reason="vendor")
    assert timers(ticket)[Kind.SLA_BREACH].remaining_seconds == 3600

    clock.now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # Saturday
    actions.do_resume_ticket(ticket, actor=users.ops_carol)
    assert timers(ticket)[Kind.SLA_BREACH].due_at == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def test_a_timer_waiting_for_a_set_moment_keeps_it_through_a_suspension(open_ticket, clock, users):
    document = chain(
        "fixed",
        [{"id": "wait", "type": "timer", "name": "Wait", "timer": {"until_field": "planned_at"}}],
        start_fields=["planned_at"],
        fields=[{"key": "planned_at", "type": "datetime", "label": "Planned"}],
    )
    ticket = open_ticket(document, values={"planned_at": "2026-11-24T22:00:00Z"})

    actions.do_suspend_ticket(ticket, actor=users.ops_carol, reason="hold")
    clock.advance(hours=5)
    actions.do_resume_ticket(ticket, actor=users.ops_carol)

    timer = timers(ticket)[Kind.TIMER_NODE]
    assert (timer.status, timer.due_at) == (Status.PENDING, datetime(2026, 11, 24, 22, tzinfo=UTC))


def test_timers_of_a_step_that_closes_are_cancelled_and_the_next_step_gets_its_own(
    open_ticket, clock, users
):
    document = chain(
        "two",
        [step("review", sla={"due": "4h"}), step("deploy", sla={"due": "1h", "warn_at": 0})],
    )
    ticket = open_ticket(document)
    review = open_task(ticket, "review")

    actions.do_complete_task(review, actor=users.test_bob, values={})

    assert set(review.timers.values_list("status", flat=True)) == {Status.CANCELLED}
    deploy = open_task(ticket, "deploy")
    (breach,) = deploy.timers.all()
    assert (breach.kind, breach.status) == (Kind.SLA_BREACH, Status.PENDING)


def test_ending_the_ticket_cancels_its_timers_paused_ones_too(open_ticket, clock, users):
    ticket = open_ticket(chain("ends", [step("review", sla={"due": "4h"})]))
    actions.do_suspend_ticket(ticket, actor=users.ops_carol, reason="hold")

    actions.do_terminate_ticket(ticket, actor=users.ops_carol, reason="not needed")

    assert set(Timer.objects.filter(ticket=ticket).values_list("status", flat=True)) == {
        Status.CANCELLED
    }


def test_workflows_without_timers_never_touch_the_timer_table(open_ticket, clock, users):
    ticket = open_ticket(chain("plain", [step("review")]))

    with CaptureQueriesContext(connection) as queries:
        actions.do_complete_task(open_task(ticket, "review"), actor=users.test_bob, values={})

    assert queries.captured_queries
    assert not [q for q in queries.captured_queries if Timer._meta.db_table in q["sql"]]
