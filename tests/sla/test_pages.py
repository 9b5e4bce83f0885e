"""SLA on the pages: badges and the overdue filter in lists, each open step's due time and
state on the ticket page, and the new history events in both languages."""

import pytest
from django.test import Client

from flowdesk.sla.actions import do_fire_timer
from flowdesk.sla.models import Timer
from flowdesk.tickets import actions

from .conftest import chain, open_task, step, timers

pytestmark = pytest.mark.django_db
Kind = Timer.Kind

SLA = {"due": "4h", "warn_at": 50, "escalate_to": [{"type": "users", "users": ["ops_carol"]}]}


@pytest.fixture
def alice(users) -> Client:
    client = Client()
    client.force_login(users.pm_alice)
    return client


@pytest.fixture
def three(open_ticket, clock):
    """Three tickets of pm_alice: one overdue, one warned, one on time."""
    document = chain("timed", [step("review", sla=SLA)])
    late = open_ticket(document, title="Late one")  # due at +4 h
    clock.advance(hours=2)
    warned = open_ticket(document, title="Warned")  # warned at +4 h, due at +6 h
    clock.advance(hours=1)
    on_time = open_ticket(document, title="On time")  # warned at +5 h, due at +7 h
    clock.advance(hours=1)
    do_fire_timer(timers(late)[Kind.SLA_BREACH])
    do_fire_timer(timers(warned)[Kind.SLA_WARNING])
    return late, warned, on_time


def rows(page: str) -> dict[str, str]:
    """Serial number → that row's HTML."""
    return {
        row.split('class="fd-sn">', 1)[1].split("</a>")[0].rsplit(">", 1)[-1]: row
        for row in page.split("<tr>")[1:]
        if 'class="fd-sn"' in row
    }


def test_lists_mark_overdue_and_warned_tickets(alice, three):
    late, warned, on_time = three

    listed = rows(alice.get("/", {"scope": "mine"}).content.decode())

    assert 'data-sla="overdue"' in listed[late.sn]
    assert 'data-sla="warned"' in listed[warned.sn]
    assert "data-sla" not in listed[on_time.sn]


def test_the_sla_filter_finds_overdue_and_warned_tickets(alice, three):
    late, warned, _on_time = three

    overdue = rows(alice.get("/changes/", {"sla": "overdue"}).content.decode())
    due_soon = rows(alice.get("/changes/", {"sla": "warned"}).content.decode())

    assert list(overdue) == [late.sn]
    assert list(due_soon) == [warned.sn]


def test_a_closed_overdue_step_no_longer_marks_the_ticket(alice, three, users):
    late, _warned, _on_time = three
    actions.do_complete_task(open_task(late, "review"), actor=users.test_bob, values={})

    assert late.sn not in rows(alice.get("/", {"scope": "mine", "sla": "overdue"}).content.decode())


def test_the_ticket_page_shows_each_open_steps_due_time_and_state(alice, three, users):
    late, warned, on_time = three

    assert 'data-sla="overdue"' in alice.get(f"/tickets/{late.sn}/").content.decode()
    assert 'data-sla="warned"' in alice.get(f"/tickets/{warned.sn}/").content.decode()
    page = alice.get(f"/tickets/{on_time.sn}/").content.decode()
    assert 'data-sla="on_time"' in page and "due Nov. 23, 2026, 5 p.m." in page

    actions.do_suspend_ticket(on_time, actor=users.ops_carol, reason="vendor")
    paused = alice.get(f"/tickets/{on_time.sn}/").content.decode()
    assert 'data-sla="paused"' in paused and "3\xa0hours left" in paused


def test_a_timer_step_shows_when_it_continues(alice, open_ticket, clock):
    document = chain(
        "wait", [{"id": "wait", "type": "timer", "name": "Wait", "timer": {"after": "3h"}}]
    )
    ticket = open_ticket(document)

    assert 'data-sla="waiting"' in alice.get(f"/tickets/{ticket.sn}/").content.decode()


def timeline(client: Client, ticket) -> str:
    page = client.get(f"/tickets/{ticket.sn}/").content.decode()
    return page[page.index('id="fd-timeline"') :]


def test_the_history_tells_sla_events_in_english(alice, three):
    late, warned, _on_time = three

    assert "nearly due, due at" in timeline(alice, warned)
    history = timeline(alice, late)
    assert "overdue (SLA breached)" in history and "told ops_carol" in history


def test_the_history_tells_sla_events_in_chinese(alice, three):
    late, warned, _on_time = three
    alice.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})

    assert "即将到期" in timeline(alice, warned)
    assert "已超时" in timeline(alice, late)


def test_the_history_tells_a_timer_step_continuing_and_its_problems(alice, open_ticket, clock):
    document = chain(
        "wait",
        [
            {"id": "wait", "type": "timer", "name": "Wait", "timer": {"after": "1h"}},
            {
                "id": "hold",
                "type": "timer",
                "name": "Hold",
                "timer": {"until_field": "planned_at"},
            },
        ],
        start_fields=["planned_at"],
        fields=[{"key": "planned_at", "type": "datetime", "label": "Planned time"}],
    )
    ticket = open_ticket(document)
    clock.advance(hours=1)
    do_fire_timer(timers(ticket)[Kind.TIMER_NODE])

    history = timeline(alice, ticket)
    assert "the system</strong> continued when the timer was up" in history
    assert "the field “Planned time” holds no date and time" in history
