"""What each person may do, as the pages and the API will show it, and the workbench filters."""

import pytest
from django.test import RequestFactory

from flowdesk.tickets import actions
from flowdesk.tickets.filtersets import TicketFilterSet
from flowdesk.tickets.models import Ticket
from flowdesk.tickets.queries import end_reason, snapshots, task_actions, ticket_actions

from .test_release_scenario import TEST_PASS, submit, todo

pytestmark = pytest.mark.django_db


def test_allowed_actions_follow_role_and_step(release_service, users):
    ticket = submit(release_service, users.pm_alice)
    task = todo(users.test_bob, ticket)
    assert task_actions(users.test_bob, task) == ["complete", "return", "transfer"]
    assert task_actions(users.test_erin, task) == []
    assert task_actions(users.admin, task) == ["transfer"]  # owner: may reassign, not decide
    assert ticket_actions(users.pm_alice, ticket) == ["comment", "follow", "urge", "withdraw"]
    assert ticket_actions(users.admin, ticket) == ["comment", "follow", "suspend", "terminate"]

    actions.do_complete_task(task, actor=users.test_bob, values=TEST_PASS)
    coordinate = todo(users.ops_carol, ticket)
    assert task_actions(users.ops_carol, coordinate) == ["approve", "reject", "return", "transfer"]
    ticket.refresh_from_db()
    assert "withdraw" not in ticket_actions(users.pm_alice, ticket)


def test_snapshots_and_end_reason(release_service, users):
    ticket = submit(release_service, users.pm_alice)
    actions.do_complete_task(todo(users.test_bob, ticket), actor=users.test_bob, values=TEST_PASS)
    assert [(s.node, s.by) for s in snapshots(ticket)] == [
        ("submit", "pm_alice"),
        ("test_confirm", "test_bob"),
    ]
    assert snapshots(ticket)[1].values["test_result"] == "pass"
    assert end_reason(ticket) is None
    actions.do_terminate_ticket(ticket, actor=users.admin, reason="Cancelled")
    ticket.refresh_from_db()
    assert end_reason(ticket) == "terminated"


def test_filterset_scopes_and_search(release_service, users):
    mine = submit(release_service, users.pm_alice)
    other = submit(release_service, users.pm_dave, business="game-b")
    request = RequestFactory().get("/")
    request.user = users.test_bob

    def tickets(**params):
        return set(TicketFilterSet(params, Ticket.objects.all(), request=request).qs)

    assert tickets(scope="todo") == {mine}
    assert tickets(business="game-b") == {other}
    assert tickets(q=mine.sn) == {mine}
    assert tickets(q="release server") == {mine, other}
    request.user = users.pm_alice
    assert tickets(scope="mine") == {mine}
    # ISO allows offsets PostgreSQL refuses (±16 h and more): compared in UTC instead.
    assert tickets(created_after="2000-03-17T15:33:40-23:26") == {mine, other}
    assert tickets(created_before="0001-01-01T00:00:00+01:00") == set()
