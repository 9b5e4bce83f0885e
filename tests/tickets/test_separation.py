"""Separation of duties through the service layer: the strict release example (coordinate ≠
release, tester ≠ releaser), the requester rule, and the admin override with its record."""

from pathlib import Path

import pytest

from flowdesk.audit.models import AuditEntry
from flowdesk.directory.actions import do_add_role_member
from flowdesk.directory.models import Business, Role
from flowdesk.engine import InvalidValues, NotAllowed, SeparationOfDuties, load_document
from flowdesk.tickets import actions, queries
from flowdesk.tickets.models import Task, Ticket
from tests.factories import deploy_service

from .test_release_scenario import TEST_PASS, submit, todo

pytestmark = pytest.mark.django_db

STRICT = Path(__file__).parents[2] / "examples" / "app-release-strict.yaml"


@pytest.fixture
def strict_service(demo, users):
    """The four-eyes release process, with a second ops person (the admin) in Game A."""
    service = deploy_service(load_document(STRICT.read_text(encoding="utf-8")))
    ops, game_a = Role.objects.get(key="ops"), Business.objects.get(key="game-a")
    do_add_role_member(ops, users.admin, business=game_a, actor=None)
    return service


def coordinated(service, users) -> Ticket:
    """Submitted by Alice, tested by Bob, resources coordinated by Carol: at release."""
    ticket = submit(service, users.pm_alice)
    actions.do_complete_task(todo(users.test_bob, ticket), actor=users.test_bob, values=TEST_PASS)
    carol = users.ops_carol
    actions.do_approve_task(todo(carol, ticket), actor=carol, source="api")
    return ticket


def snapshot(ticket: Ticket) -> tuple:
    ticket.refresh_from_db()
    return ticket.state, ticket.events.count(), AuditEntry.objects.count()


def test_the_coordinator_may_not_release_and_nothing_changes(strict_service, users):
    ticket = coordinated(strict_service, users)
    carol = users.ops_carol
    release = todo(carol, ticket)  # still her task: she is an ops candidate
    reason = "You handled 'Coordinate release resources' on this ticket, so you may not handle "
    assert queries.barred_reason(carol, release).startswith(reason)
    assert queries.task_actions(carol, release) == ["return", "transfer"]  # no "complete"
    before = snapshot(ticket)
    for source in ("web", "api", "cli"):
        with pytest.raises(SeparationOfDuties, match=reason):
            actions.do_complete_task(
                release, actor=carol, values={"release_summary": "x"}, source=source
            )
    assert snapshot(ticket) == before
    # The other ops person releases.
    admin = users.admin
    assert queries.barred_reason(admin, release) is None
    assert queries.task_actions(admin, release)[0] == "complete"
    actions.do_complete_task(release, actor=admin, values={"release_summary": "Rolled out"})
    assert todo(users.qc_c, ticket).node_id == "qc_review"


def test_the_requester_may_not_approve_their_own_ticket(release_service, users):
    alice, bob = users.pm_alice, users.test_bob
    ops = Role.objects.get(key="ops")
    do_add_role_member(ops, alice, business=Business.objects.get(key="game-a"), actor=None)
    ticket = submit(release_service, alice)
    actions.do_complete_task(todo(bob, ticket), actor=bob, values=TEST_PASS)
    coordinate = todo(alice, ticket)
    before = snapshot(ticket)
    for do in (actions.do_approve_task, actions.do_reject_task):
        with pytest.raises(SeparationOfDuties, match="You submitted this request"):
            do(coordinate, actor=alice)
    assert snapshot(ticket) == before
    assert queries.task_actions(alice, coordinate) == ["return", "transfer"]
    actions.do_approve_task(coordinate, actor=users.ops_carol)


def test_an_admin_overrides_with_a_reason_and_it_is_recorded(strict_service, users):
    ticket = submit(strict_service, users.pm_alice)
    admin = users.admin
    actions.do_complete_task(todo(users.test_bob, ticket), actor=users.test_bob, values=TEST_PASS)
    actions.do_approve_task(todo(admin, ticket), actor=admin)
    release = todo(admin, ticket)
    assert queries.override_actions(admin, release) == ["complete"]
    actions.do_complete_task(
        release,
        actor=admin,
        values={"release_summary": "Hotfix"},
        source="cli",
        override_reason="  Carol is on leave; incident INC-42  ",
    )
    event = ticket.events.get(kind="completed", node_id="release")
    override = {
        "by": "admin",
        "reason": "Carol is on leave; incident INC-42",
        "rule": "You handled 'Coordinate release resources' on this ticket, so you may not "
        "handle 'Release'.",
    }
    assert event.data["override"] == override and event.data["source"] == "cli"
    entry = AuditEntry.objects.filter(action="ticket.completed").latest("seq")
    assert (entry.actor_name, entry.obj_id, entry.source) == ("admin", ticket.sn, "cli")
    assert entry.data["override"] == override


def test_only_an_admin_may_override_and_only_with_a_reason(strict_service, users):
    ticket = coordinated(strict_service, users)
    carol, admin = users.ops_carol, users.admin
    release = todo(carol, ticket)
    before = snapshot(ticket)
    with pytest.raises(NotAllowed, match="Only a Flowdesk admin") as caught:
        actions.do_complete_task(
            release, actor=carol, values={"release_summary": "x"}, override_reason="urgent"
        )
    assert not isinstance(caught.value, SeparationOfDuties)
    assert queries.override_actions(carol, release) == []
    # An admin who is barred too (he voted on coordinate in this ticket) must say why.
    actions.do_return_task(release, actor=carol, target="coordinate", reason="Slots moved")
    actions.do_approve_task(todo(admin, ticket), actor=admin)
    release = Task.objects.get(ticket=ticket, node_id="release", status=Task.Status.OPEN)
    before = snapshot(ticket)
    with pytest.raises(InvalidValues) as invalid:
        actions.do_complete_task(
            release, actor=admin, values={"release_summary": "x"}, override_reason="  "
        )
    assert list(invalid.value.errors) == ["override_reason"]
    assert snapshot(ticket) == before


def test_an_override_that_is_not_needed_records_none(strict_service, users):
    ticket = coordinated(strict_service, users)
    admin = users.admin
    actions.do_complete_task(
        todo(admin, ticket), actor=admin, values={"release_summary": "x"}, override_reason="why"
    )
    assert "override" not in ticket.events.get(kind="completed", node_id="release").data
