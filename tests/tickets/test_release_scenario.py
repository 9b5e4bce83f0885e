"""The seed scenario, end to end through the service layer, and the rules around it."""

import re

import pytest
from django.http import Http404

from flowdesk.directory.actions import do_add_role_member, do_remove_role_member
from flowdesk.directory.models import Business, Role
from flowdesk.engine import InvalidValues, NotAllowed, NotRunning, TaskNotOpen
from flowdesk.tickets import actions
from flowdesk.tickets.access import access_ticket
from flowdesk.tickets.models import Task, Ticket, open_tasks_for
from tests.packages import FIXED_MD5, FIXED_URL, PACKAGE_MD5, PACKAGE_URL, run_automation

pytestmark = pytest.mark.django_db

MD5 = PACKAGE_MD5  # the served package's: the demo's checksum step downloads it
SUBMIT = {
    "package_url": PACKAGE_URL,
    "package_md5": MD5.upper(),
    "release_scope": "All game-a servers in region east",
    "planned_at": "2026-11-28T02:00:00+08:00",
}
TEST_PASS = {"test_assessment": "low_risk", "test_result": "pass", "test_summary": "All green"}
TEST_FAIL = {"test_assessment": "high_risk", "test_result": "fail", "test_summary": "Crash"}


def submit(service, user, **overrides):
    """Submit the release, then run the package check as the worker would."""
    ticket = actions.do_submit_ticket(
        service,
        actor=user,
        title="Release server 2.4.1",
        business=Business.objects.get(key=overrides.pop("business", "game-a")),
        values={**SUBMIT, **overrides},
    )
    run_automation()
    ticket.refresh_from_db()
    return ticket


def todo(user, ticket):
    """The user's one open task on the ticket (fails if there is not exactly one)."""
    (task,) = open_tasks_for(user).filter(ticket=ticket)
    return task


def test_whole_release_with_failed_test_then_resubmit(release_service, users):
    alice, bob, carol, qc = users.pm_alice, users.test_bob, users.ops_carol, users.qc_c
    ticket = submit(release_service, alice)

    assert re.fullmatch(r"CRQ\d{8}000001", ticket.sn)
    assert ticket.status == Ticket.Status.RUNNING
    assert ticket.values["package_md5"] == MD5  # normalised to lower case
    assert ticket.values["planned_at"] == "2026-11-27T18:00:00Z"  # normalised to UTC

    # Test fails: the ticket goes back to the requester, her values kept as defaults.
    actions.do_complete_task(todo(bob, ticket), actor=bob, values=TEST_FAIL)
    resubmit = todo(alice, ticket)
    assert resubmit.node_id == "submit"
    new_md5 = FIXED_MD5  # a rebuilt package, at its own path
    fixed = {"package_url": FIXED_URL, "package_md5": new_md5}
    actions.do_complete_task(resubmit, actor=alice, values=fixed)
    assert run_automation() == 1  # the rebuilt package is checked again
    ticket.refresh_from_db()
    assert ticket.values["release_scope"] == SUBMIT["release_scope"]
    assert ticket.values["package_md5"] == new_md5

    actions.do_complete_task(todo(bob, ticket), actor=bob, values=TEST_PASS)
    actions.do_approve_task(todo(carol, ticket), actor=carol, comment="Slots booked")
    release = todo(carol, ticket)
    assert release.node_id == "release"
    actions.do_complete_task(release, actor=carol, values={"release_summary": "Rolled out"})
    actions.do_complete_task(
        todo(qc, ticket), actor=qc, values={"qc_result": "good", "qc_summary": "No incidents"}
    )

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.FINISHED
    assert ticket.ended_at is not None
    assert not Task.objects.filter(ticket=ticket, status=Task.Status.OPEN).exists()
    assert not open_tasks_for(alice).exists() and not open_tasks_for(qc).exists()

    # The history shows every step, who did it, and what they entered.
    done = [
        (e.kind, e.actor.username, e.node_id)
        for e in ticket.events.exclude(actor=None).order_by("seq")
    ]
    assert done == [
        ("submitted", "pm_alice", "submit"),
        ("completed", "test_bob", "test_confirm"),
        ("completed", "pm_alice", "submit"),
        ("completed", "test_bob", "test_confirm"),
        ("approved", "ops_carol", "coordinate"),
        ("completed", "ops_carol", "release"),
        ("completed", "qc_c", "qc_review"),
    ]
    checks = ticket.events.filter(kind="automation_succeeded").values_list("node_id", flat=True)
    assert list(checks) == ["verify_package", "verify_package"]  # each package, before testing
    events = list(ticket.events.order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    first_submit = events[0]
    assert first_submit.data["values"]["package_md5"] == MD5
    resubmitted = next(e for e in events if e.kind == "completed" and e.node_id == "submit")
    assert resubmitted.data["changes"] == {
        "package_url": [PACKAGE_URL, FIXED_URL],
        "package_md5": [MD5, new_md5],
    }
    approval = next(e for e in events if e.kind == "approved")
    assert approval.data["comment"] == "Slots booked"
    assert events[-1].kind == "ended" and events[-1].data["status"] == "finished"


def test_submit_refuses_bad_values_and_writes_nothing(release_service, users):
    with pytest.raises(InvalidValues) as caught:
        submit(release_service, users.pm_alice, package_md5="not-a-checksum", package_url="")
    assert set(caught.value.errors) == {"package_md5", "package_url"}
    assert not Ticket.objects.exists()


def test_submit_needs_a_business_and_a_title(release_service, users):
    with pytest.raises(InvalidValues) as caught:
        actions.do_submit_ticket(release_service, actor=users.pm_alice, title=" ", values=SUBMIT)
    assert set(caught.value.errors) == {"title", "business"}


def test_header_and_field_errors_are_reported_together(release_service, users):
    with pytest.raises(InvalidValues) as caught:
        actions.do_submit_ticket(
            release_service,
            actor=users.pm_alice,
            title="",
            business=Business.objects.get(key="game-a"),
            values={**SUBMIT, "package_md5": "xyz"},
        )
    assert set(caught.value.errors) == {"title", "package_md5"}
    assert not Ticket.objects.exists()


def test_only_the_business_product_people_may_submit(release_service, users):
    with pytest.raises(NotAllowed, match="product"):
        submit(release_service, users.pm_dave)  # product in game-b, not game-a
    assert submit(release_service, users.pm_dave, business="game-b").business.key == "game-b"


def test_serial_numbers_count_up_per_day(release_service, users):
    first = submit(release_service, users.pm_alice)
    second = submit(release_service, users.pm_alice)
    assert int(second.sn[-6:]) == int(first.sn[-6:]) + 1 and first.sn[:11] == second.sn[:11]


def test_a_package_that_does_not_match_its_md5_goes_back_to_the_requester(release_service, users):
    wrong = FIXED_MD5  # the MD5 of another package than the one at package_url
    ticket = submit(release_service, users.pm_alice, package_md5=wrong)

    (failed,) = ticket.events.filter(kind="automation_failed")
    assert failed.node_id == "verify_package"
    error = failed.data["automation"]["error"]
    assert error == (
        f"The package at {PACKAGE_URL} does not match its checksum: "
        f"MD5 {PACKAGE_MD5}, expected {wrong}."
    )
    assert todo(users.pm_alice, ticket).node_id == "submit"  # on_failure: return
    assert not Task.objects.filter(ticket=ticket, node_id="test_confirm").exists()
    assert not open_tasks_for(users.test_bob).exists()


def test_business_scoping_keeps_game_b_out(release_service, users):
    ticket = submit(release_service, users.pm_alice)
    erin = users.test_erin  # test in game-b
    assert not open_tasks_for(erin).exists()
    assert not Ticket.objects.visible_to(erin).exists()
    with pytest.raises(Http404):
        access_ticket(erin, ticket.sn)
    task = todo(users.test_bob, ticket)
    with pytest.raises(NotAllowed, match="not a handler"):
        actions.do_complete_task(task, actor=erin, values=TEST_PASS)
    assert access_ticket(users.test_bob, ticket.sn) == ticket
    assert access_ticket(users.admin, ticket.sn) == ticket  # the service owner


def test_second_action_on_a_handled_task_names_who_and_when(release_service, users):
    ticket = submit(release_service, users.pm_alice)
    task = todo(users.test_bob, ticket)
    actions.do_complete_task(task, actor=users.test_bob, values=TEST_PASS)
    with pytest.raises(TaskNotOpen, match=r"already handled by test_bob at \d{4}-"):
        actions.do_complete_task(task, actor=users.test_bob, values=TEST_PASS)


def test_candidates_follow_role_membership_while_the_task_is_open(release_service, users):
    ticket = submit(release_service, users.pm_alice)
    task = todo(users.test_bob, ticket)
    test_role, game_a = Role.objects.get(key="test"), Business.objects.get(key="game-a")

    do_add_role_member(test_role, users.test_erin, business=game_a, actor=None)
    assert todo(users.test_erin, ticket) == task
    do_remove_role_member(test_role, users.test_bob, business=game_a, actor=None)
    assert not open_tasks_for(users.test_bob).exists()
    with pytest.raises(NotAllowed):
        actions.do_complete_task(task, actor=users.test_bob, values=TEST_PASS)
    actions.do_complete_task(task, actor=users.test_erin, values=TEST_PASS)
    # A membership change in another business does not touch this ticket.
    do_add_role_member(
        Role.objects.get(key="ops"),
        users.test_bob,
        business=Business.objects.get(key="game-b"),
        actor=None,
    )
    assert not open_tasks_for(users.test_bob).exists()


def test_transfer_moves_the_task_to_one_person(release_service, users):
    ticket = submit(release_service, users.pm_alice)
    task = todo(users.test_bob, ticket)
    actions.do_transfer_task(task, actor=users.test_bob, to_user=users.qc_c, comment="On leave")
    assert not open_tasks_for(users.test_bob).exists()
    assert todo(users.qc_c, ticket) == task
    actions.do_complete_task(task, actor=users.qc_c, values=TEST_PASS)
    assert ticket.events.filter(kind="transferred", data__to="qc_c").exists()


def test_transfer_by_a_stranger_is_refused(release_service, users):
    ticket = submit(release_service, users.pm_alice)
    task = todo(users.test_bob, ticket)
    with pytest.raises(NotAllowed):
        actions.do_transfer_task(task, actor=users.pm_dave, to_user=users.pm_dave)
    assert todo(users.test_bob, ticket) == task


def test_return_to_an_earlier_step_needs_a_reason_and_keeps_values(release_service, users):
    ticket = submit(release_service, users.pm_alice)
    actions.do_complete_task(todo(users.test_bob, ticket), actor=users.test_bob, values=TEST_PASS)
    coordinate = todo(users.ops_carol, ticket)
    with pytest.raises(InvalidValues, match="reason"):
        actions.do_return_task(coordinate, actor=users.ops_carol, target="test_confirm", reason="")
    actions.do_return_task(
        coordinate, actor=users.ops_carol, target="test_confirm", reason="Retest on staging"
    )
    ticket.refresh_from_db()
    assert todo(users.test_bob, ticket).node_id == "test_confirm"
    assert ticket.values["test_summary"] == "All green"
    event = ticket.events.get(kind="returned")
    assert event.data["to"] == "test_confirm" and event.data["comment"] == "Retest on staging"


def test_rejected_coordination_returns_to_the_requester(release_service, users):
    ticket = submit(release_service, users.pm_alice)
    actions.do_complete_task(todo(users.test_bob, ticket), actor=users.test_bob, values=TEST_PASS)
    actions.do_reject_task(
        todo(users.ops_carol, ticket), actor=users.ops_carol, comment="No capacity"
    )
    assert todo(users.pm_alice, ticket).node_id == "submit"


def test_withdraw_only_before_anyone_else_acted(release_service, users):
    ticket = submit(release_service, users.pm_alice)
    with pytest.raises(NotAllowed):
        actions.do_withdraw_ticket(ticket, actor=users.test_bob)
    actions.do_complete_task(todo(users.test_bob, ticket), actor=users.test_bob, values=TEST_PASS)
    with pytest.raises(NotAllowed):
        actions.do_withdraw_ticket(ticket, actor=users.pm_alice)

    fresh = submit(release_service, users.pm_alice)
    actions.do_withdraw_ticket(fresh, actor=users.pm_alice, reason="Wrong package")
    fresh.refresh_from_db()
    assert fresh.status == Ticket.Status.WITHDRAWN
    assert not Task.objects.filter(ticket=fresh, status=Task.Status.OPEN).exists()
    assert not open_tasks_for(users.test_bob).filter(ticket=fresh).exists()


def test_terminate_needs_admin_or_owner_and_a_reason(release_service, users):
    ticket = submit(release_service, users.pm_alice)
    with pytest.raises(NotAllowed):
        actions.do_terminate_ticket(ticket, actor=users.pm_alice, reason="Changed my mind")
    with pytest.raises(InvalidValues):
        actions.do_terminate_ticket(ticket, actor=users.admin, reason="")
    actions.do_terminate_ticket(ticket, actor=users.admin, reason="Release cancelled")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.TERMINATED
    with pytest.raises(NotRunning):
        actions.do_terminate_ticket(ticket, actor=users.admin, reason="again")


def test_suspended_ticket_takes_no_action_until_resumed(release_service, users):
    ticket = submit(release_service, users.pm_alice)
    task = todo(users.test_bob, ticket)
    with pytest.raises(NotAllowed):
        actions.do_suspend_ticket(ticket, actor=users.test_bob, reason="wait")
    actions.do_suspend_ticket(ticket, actor=users.admin, reason="Freeze window")
    with pytest.raises(NotRunning, match="suspended"):
        actions.do_complete_task(task, actor=users.test_bob, values=TEST_PASS)
    actions.do_resume_ticket(ticket, actor=users.admin)
    actions.do_complete_task(task, actor=users.test_bob, values=TEST_PASS)


def test_urge_comment_follow(release_service, users):
    ticket = submit(release_service, users.pm_alice)
    actions.do_urge_ticket(ticket, actor=users.pm_alice, comment="Please today")
    assert ticket.events.get(kind="urged").data["handlers"] == ["test_bob"]
    with pytest.raises(NotAllowed, match="urge again after"):
        actions.do_urge_ticket(ticket, actor=users.pm_alice)
    with pytest.raises(NotAllowed):
        actions.do_urge_ticket(ticket, actor=users.test_bob)

    actions.do_comment_ticket(ticket, actor=users.test_bob, text="Looking at it")
    with pytest.raises(InvalidValues):
        actions.do_comment_ticket(ticket, actor=users.test_bob, text="   ")
    assert actions.do_follow_ticket(ticket, actor=users.test_bob) is True
    assert actions.do_follow_ticket(ticket, actor=users.test_bob) is False
    assert actions.do_unfollow_ticket(ticket, actor=users.test_bob) is True
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert kinds.count("commented") == 1 and kinds.count("followed") == 1
