"""Exactly once under real concurrency (PostgreSQL row locks): several workers firing the same
due timers, sweeping at the same moment, or racing a person who completes the step by hand."""

from collections import Counter

import pytest

from flowdesk.engine import NotRunning, TaskNotOpen
from flowdesk.notify.models import Delivery
from flowdesk.sla.actions import do_fire_timer
from flowdesk.sla.models import Timer
from flowdesk.sla.sweeps import fire_due
from flowdesk.tickets import actions
from flowdesk.tickets.models import Event
from tests.tickets.test_postgres import THREADS, run_together

from .conftest import chain, open_task, step

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
Kind, Status = Timer.Kind, Timer.Status
TICKETS = 5


@pytest.fixture
def due_breaches(open_ticket, clock):
    """Five tickets whose SLA breach (escalated to ops_carol) is due now."""
    sla = {"due": "1h", "warn_at": 0, "escalate_to": [{"type": "users", "users": ["ops_carol"]}]}
    document = chain("race", [step("review", sla=sla)])
    tickets = [open_ticket(document, title=f"Race {i}") for i in range(TICKETS)]
    clock.advance(hours=1)
    return tickets


def assert_each_breach_fired_once(tickets):
    assert Timer.objects.filter(kind=Kind.SLA_BREACH, status=Status.FIRED).count() == TICKETS
    per_ticket = Counter(Event.objects.filter(kind="sla_breach").values_list("ticket", flat=True))
    assert per_ticket == Counter({ticket.pk: 1 for ticket in tickets})
    deliveries = Delivery.objects.filter(event="sla_breach", channel="email")
    assert deliveries.count() == 2 * TICKETS  # test_bob and ops_carol, once each


def test_workers_firing_the_same_due_timers_fire_each_once(due_breaches):
    due = list(Timer.objects.filter(status=Status.PENDING))

    fired = run_together(lambda _: sum(do_fire_timer(timer) for timer in due), range(THREADS))

    assert sum(fired) == TICKETS
    assert_each_breach_fired_once(due_breaches)


def test_workers_sweeping_at_once_fire_each_timer_once(due_breaches):
    fired = run_together(lambda _: fire_due(), range(THREADS))

    assert sum(fired) == TICKETS
    assert_each_breach_fired_once(due_breaches)
    assert fire_due() == 0


def test_a_timer_step_and_a_person_completing_it_by_hand_move_the_ticket_once(
    open_ticket, clock, users
):
    document = chain(
        "hand",
        [
            {
                "id": "wait",
                "type": "timer",
                "name": "Wait",
                "operators": [{"type": "users", "users": ["ops_carol"]}],
                "timer": {"after": "1h"},
            },
            step("check"),
        ],
    )
    ticket = open_ticket(document)
    timer = Timer.objects.get(ticket=ticket, kind=Kind.TIMER_NODE)
    task = open_task(ticket, "wait")
    clock.advance(hours=1)

    def act(who):
        if who == "timer":
            return "fired" if do_fire_timer(timer) else "skipped"
        try:
            actions.do_complete_task(task, actor=users.ops_carol, values={})
        except (TaskNotOpen, NotRunning):
            return "refused"
        return "completed"

    results = run_together(act, ["timer", "person"])

    assert sorted(results) in (["completed", "skipped"], ["fired", "refused"])
    assert ticket.tasks.filter(node_id="check").count() == 1
    assert ticket.events.filter(kind__in=["timer_fired", "completed"]).count() == 1
