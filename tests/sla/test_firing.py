"""Firing timers: each kind's effect, exactly once, and the worker's sweep."""

import logging
from datetime import timedelta

import pytest

from flowdesk import worker
from flowdesk.audit.models import AuditEntry
from flowdesk.notify.models import Delivery
from flowdesk.sla import actions as sla_actions
from flowdesk.sla.actions import do_fire_timer
from flowdesk.sla.models import Timer
from flowdesk.sla.sweeps import fire_due
from flowdesk.tickets import actions
from flowdesk.tickets.models import Task

from .conftest import chain, open_task, step, timers

pytestmark = pytest.mark.django_db
Kind, Status = Timer.Kind, Timer.Status

ESCALATE_TO_CAROL = {"due": "4h", "escalate_to": [{"type": "users", "users": ["ops_carol"]}]}


def told(ticket, event: str) -> list[str]:
    """Who the e-mails of notification `event` on the ticket go to, by username."""
    rows = Delivery.objects.filter(ticket=ticket, event=event, channel="email")
    return sorted(rows.values_list("recipient__username", flat=True))


def test_a_timer_fires_only_once_it_is_due(open_ticket, clock):
    ticket = open_ticket(chain("due", [step("review", sla={"due": "4h"})]))
    warning = timers(ticket)[Kind.SLA_WARNING]

    assert do_fire_timer(warning) is False
    clock.advance(hours=3, minutes=12)  # 80% of 4 h
    assert do_fire_timer(warning) is True

    warning.refresh_from_db()
    assert (warning.status, warning.fired_at) == (Status.FIRED, clock.now)


def test_the_warning_tells_the_handlers_and_the_history(open_ticket, clock):
    ticket = open_ticket(chain("warn", [step("review", sla={"due": "4h", "warn_at": 50})]))
    clock.advance(hours=2)

    do_fire_timer(timers(ticket)[Kind.SLA_WARNING])

    event = ticket.events.get(kind="sla_warning")
    assert (event.actor, event.node_id) == (None, "review")
    assert event.data == {"due_at": "2026-11-23T14:00:00Z", "source": "system"}
    assert told(ticket, "sla_warning") == ["test_bob"]
    audit = AuditEntry.objects.get(action="ticket.sla_warning")
    assert (audit.actor_name, audit.source) == ("(system)", "system")


def test_a_fired_timer_never_fires_again(open_ticket, clock):
    ticket = open_ticket(chain("once", [step("review", sla={"due": "4h"})]))
    warning = timers(ticket)[Kind.SLA_WARNING]
    clock.advance(hours=4)

    assert [do_fire_timer(warning), do_fire_timer(warning)] == [True, False]
    assert ticket.events.filter(kind="sla_warning").count() == 1
    assert len(told(ticket, "sla_warning")) == 1


def test_the_breach_tells_the_handlers_and_the_escalation(open_ticket, clock):
    ticket = open_ticket(chain("breach", [step("review", sla=ESCALATE_TO_CAROL)]))
    clock.advance(hours=4)

    do_fire_timer(timers(ticket)[Kind.SLA_BREACH])

    event = ticket.events.get(kind="sla_breach")
    assert event.data == {"escalate_to": ["ops_carol"], "gaps": [], "source": "system"}
    assert told(ticket, "sla_breach") == ["ops_carol", "test_bob"]
    task = open_task(ticket, "review")
    assert list(task.candidates.values_list("user__username", flat=True)) == ["test_bob"]
    assert not ticket.events.filter(kind="escalated").exists()


def test_a_breach_with_reassign_gives_the_step_to_the_escalation(open_ticket, clock, users):
    sla = {"due": "1h", "escalate_to": [{"type": "general_role", "role": "QC"}], "reassign": True}
    ticket = open_ticket(chain("reassign", [step("review", sla=sla)]))
    clock.advance(hours=1)

    do_fire_timer(timers(ticket)[Kind.SLA_BREACH])

    task = open_task(ticket, "review")
    assert list(task.candidates.values_list("user__username", flat=True)) == ["qc_c"]
    assert task.assignee == users.qc_c
    escalated = ticket.events.get(kind="escalated")
    assert escalated.data == {"to": ["qc_c"], "source": "system"}
    assert told(ticket, "sla_breach") == ["qc_c", "test_bob"]
    actions.do_complete_task(task, actor=users.qc_c, values={})  # qc_c may now act on it


def test_a_breach_with_nobody_to_escalate_to_tells_the_handlers_and_keeps_the_step(
    open_ticket, clock
):
    sla = {"due": "1h", "escalate_to": [{"type": "requester_manager"}], "reassign": True}
    ticket = open_ticket(chain("nobody", [step("review", sla=sla)]))
    clock.advance(hours=1)

    do_fire_timer(timers(ticket)[Kind.SLA_BREACH])

    event = ticket.events.get(kind="sla_breach")
    assert event.data["escalate_to"] == []
    assert event.data["gaps"] == ["the requester 'pm_alice' has no manager"]
    assert told(ticket, "sla_breach") == ["test_bob"]
    task = open_task(ticket, "review")
    assert list(task.candidates.values_list("user__username", flat=True)) == ["test_bob"]


def test_a_reminder_reminds_and_sets_the_next_one(open_ticket, clock):
    ticket = open_ticket(chain("remind", [step("review", notify={"remind_every": "4h"})]))
    clock.advance(hours=4)

    do_fire_timer(timers(ticket)[Kind.REMINDER])
    clock.advance(hours=4)
    do_fire_timer(timers(ticket, status=Status.PENDING)[Kind.REMINDER])

    reminders = Timer.objects.filter(ticket=ticket, kind=Kind.REMINDER).order_by("pk")
    assert [r.status for r in reminders] == [Status.FIRED, Status.FIRED, Status.PENDING]
    assert reminders.last().due_at == clock.now + timedelta(hours=4)
    assert told(ticket, "reminder") == ["test_bob", "test_bob"]  # two messages, two keys
    assert not ticket.events.filter(kind="reminder").exists()  # reminders are messages only


def test_a_timer_step_moves_the_ticket_on_as_the_system(open_ticket, clock, users):
    document = chain(
        "wait",
        [{"id": "wait", "type": "timer", "name": "Wait", "timer": {"after": "2h"}}, step("check")],
    )
    ticket = open_ticket(document)
    clock.advance(hours=2)

    assert do_fire_timer(timers(ticket)[Kind.TIMER_NODE]) is True

    wait = ticket.tasks.get(node_id="wait")
    assert (wait.status, wait.outcome, wait.handled_by) == (Task.Status.CLOSED, "completed", None)
    fired = ticket.events.get(kind="timer_fired")
    assert (fired.actor, fired.node_id, fired.task_key) == (None, "wait", wait.key)
    assert fired.data["source"] == "system"
    assert open_task(ticket, "check").candidates.get().user == users.test_bob
    audit = AuditEntry.objects.get(action="ticket.timer_fired")
    assert (audit.actor_name, audit.source) == ("(system)", "system")


def test_a_timer_step_that_cannot_move_on_stays_open_and_says_why(open_ticket, clock):
    document = chain(
        "stuck",
        [
            {"id": "wait", "type": "timer", "name": "Wait", "timer": {"after": "1h"}},
            step("check", operators=[{"type": "field", "field": "checker"}]),
        ],
        start_fields=["checker"],
        fields=[{"key": "checker", "type": "member", "label": "Checker"}],
    )
    ticket = open_ticket(document)
    clock.advance(hours=1)

    assert do_fire_timer(timers(ticket)[Kind.TIMER_NODE]) is True

    problem = ticket.events.get(kind="timer_problem")
    assert problem.data["problem"] == "not_continued"
    assert "field 'checker' names nobody" in problem.data["error"]
    assert open_task(ticket, "wait")  # its operators may complete it by hand
    assert timers(ticket)[Kind.TIMER_NODE].status == Status.FIRED


def test_a_timer_whose_step_closed_is_cancelled_not_fired(open_ticket, clock, users):
    ticket = open_ticket(chain("closed", [step("review", sla={"due": "1h"})]))
    breach = timers(ticket)[Kind.SLA_BREACH]
    actions.do_complete_task(open_task(ticket, "review"), actor=users.test_bob, values={})
    Timer.objects.filter(pk=breach.pk).update(status=Status.PENDING)  # as if the cancel was missed
    clock.advance(hours=2)

    assert do_fire_timer(breach) is False

    breach.refresh_from_db()
    assert breach.status == Status.CANCELLED
    assert not ticket.events.filter(kind="sla_breach").exists()


def test_a_timer_of_a_suspended_ticket_is_paused_not_fired(open_ticket, clock, users):
    ticket = open_ticket(chain("held", [step("review", sla={"due": "1h", "warn_at": 0})]))
    actions.do_suspend_ticket(ticket, actor=users.ops_carol, reason="hold")
    breach = timers(ticket)[Kind.SLA_BREACH]
    Timer.objects.filter(pk=breach.pk).update(status=Status.PENDING)  # as if the pause was missed
    clock.advance(hours=2)

    assert do_fire_timer(breach) is False

    breach.refresh_from_db()
    assert (breach.status, breach.remaining_seconds) == (Status.PAUSED, 0)


# --- the sweep --------------------------------------------------------------------------------


def test_the_worker_runs_the_timer_sweep():
    assert worker.SWEEPS["timers"] is fire_due


def test_the_sweep_fires_every_due_timer_once(open_ticket, clock):
    document = chain("sweep", [step("review", sla={"due": "4h"})])
    tickets = [open_ticket(document, title=f"T{i}") for i in range(3)]
    clock.advance(hours=3, minutes=30)  # warnings due, breaches not

    assert fire_due() == 3
    assert fire_due() == 0

    for ticket in tickets:
        found = timers(ticket)
        assert found[Kind.SLA_WARNING].status == Status.FIRED
        assert found[Kind.SLA_BREACH].status == Status.PENDING
        assert ticket.events.filter(kind="sla_warning").count() == 1


def test_the_sweep_works_through_more_than_one_batch(open_ticket, clock, monkeypatch):
    monkeypatch.setattr("flowdesk.sla.sweeps.BATCH", 2)
    document = chain("batches", [step("review", sla={"due": "1h", "warn_at": 0})])
    for i in range(5):
        open_ticket(document, title=f"T{i}")
    clock.advance(hours=1)

    assert fire_due() == 5
    assert not Timer.objects.filter(status=Status.PENDING).exists()


def test_a_timer_that_fails_to_fire_does_not_stop_the_others(
    open_ticket, clock, monkeypatch, caplog
):
    ticket = open_ticket(chain("broken", [step("review", sla={"due": "4h", "warn_at": 50})]))
    clock.advance(hours=5)

    def broken(ticket, timer):
        raise RuntimeError("mail template missing")

    monkeypatch.setitem(sla_actions.EFFECTS, Kind.SLA_WARNING, broken)
    with caplog.at_level(logging.ERROR, logger="flowdesk.sla.sweeps"):
        assert fire_due() == 1

    found = timers(ticket)
    assert found[Kind.SLA_WARNING].status == Status.PENDING  # rolled back: tried again later
    assert found[Kind.SLA_BREACH].status == Status.FIRED
    assert "could not fire" in caplog.text
