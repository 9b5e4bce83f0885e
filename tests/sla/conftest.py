"""SLA test set-up: a controllable clock, small timed workflows on the demo's people, and the
timers of a ticket."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from flowdesk.sla.models import Timer
from flowdesk.tickets import actions
from flowdesk.tickets.models import Task, Ticket
from tests.factories import deploy_service, global_workflow

# A Monday, 10:00 in UTC.
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


class Clock:
    """`timezone.now()` for the code under test: set it, or move it on."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """Every `timezone.now()` (actions, timers, auto_now fields) reads this clock."""
    clock = Clock(MONDAY_10)
    monkeypatch.setattr(timezone, "now", lambda: clock.now)
    return clock


def step(node_id: str, **options) -> dict:
    """A task node for test_bob (or `operators=`), with `options` such as sla, notify, timer."""
    return {
        "id": node_id,
        "type": "task",
        "name": node_id.capitalize(),
        "operators": [{"type": "users", "users": ["test_bob"]}],
        **options,
    }


def chain(key: str, nodes: list[dict], **extra) -> dict:
    """submit → nodes, in order → done."""
    ids = ["submit", *(node["id"] for node in nodes), "done"]
    transitions = [{"from": a, "to": b} for a, b in zip(ids, ids[1:], strict=False)]
    return global_workflow(key, nodes, transitions, **extra)


@pytest.fixture
def open_ticket(demo, users):
    """`open_ticket(document, values=...)`: deploy the document, pm_alice submits a ticket."""

    def make(document: dict, values: dict | None = None, title: str = "Timed") -> Ticket:
        service = deploy_service(document, owners=[users.ops_carol])
        return actions.do_submit_ticket(
            service, actor=users.pm_alice, title=title, values=values or {}
        )

    return make


def timers(ticket: Ticket, **filters) -> dict[str, Timer]:
    """The ticket's timers by kind (the latest of each kind)."""
    return {t.kind: t for t in Timer.objects.filter(ticket=ticket, **filters).order_by("pk")}


def open_task(ticket: Ticket, node_id: str) -> Task:
    return ticket.tasks.get(node_id=node_id, status=Task.Status.OPEN)
