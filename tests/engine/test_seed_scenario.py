"""The seed scenario on examples/app-release.yaml: one release from submit to QC."""

from __future__ import annotations

import pytest

from flowdesk.engine import (
    SYSTEM_ACTOR,
    ApprovalDecided,
    Definition,
    NodeCompleted,
    Returned,
    TaskClosed,
    TaskOpened,
    TicketEnded,
)

from .conftest import Ticket, load_example, make_ctx

MD5 = "D41D8CD98F00B204E9800998ECF8427E"
SUBMIT = {
    "package_url": "https://artifacts.example.com/game-a/app-1.4.2.tar.gz",
    "package_md5": MD5,
    "release_scope": "Game A login and payment services",
    "planned_at": "2026-11-28T22:00:00+08:00",
}


OPS_A = ({"type": "business_role", "role": "ops", "business": "game-a"},)


def verified(ticket: Ticket) -> Ticket:
    """The checksum step passes (the Django layer runs it; here the system completes it)."""
    ticket.complete("verify_package", SYSTEM_ACTOR)
    return ticket


@pytest.fixture
def ticket(directory) -> Ticket:
    return Ticket(Definition.from_document(load_example()), make_ctx(directory))


def test_example_parses():
    defn = Definition.from_document(load_example())
    assert defn.key == "app-release"
    assert defn.type == "change" and defn.scope == "business"
    assert defn.start == "submit"
    assert defn.settings.withdraw == "before_first_action"
    assert [t.target for t in defn.outgoing["test_passed"]] == ["coordinate", "submit"]


def test_whole_release(ticket: Ticket):
    ticket.start("pm_alice", **SUBMIT)
    assert ticket.effects[0] == NodeCompleted(
        "submit",
        "pm_alice",
        {
            "package_url": SUBMIT["package_url"],
            "package_md5": MD5.lower(),
            "release_scope": SUBMIT["release_scope"],
            "planned_at": "2026-11-28T14:00:00Z",
        },
        {
            "package_url": [None, SUBMIT["package_url"]],
            "package_md5": [None, MD5.lower()],
            "release_scope": [None, SUBMIT["release_scope"]],
            "planned_at": [None, "2026-11-28T14:00:00Z"],
        },
    )
    # the package's checksum is verified before anyone tests it; ops may step in by hand
    assert ticket.effects[1:] == [
        TaskOpened(1, "verify_package", None, ("ops_carol",), OPS_A, False)
    ]
    verified(ticket)
    assert ticket.effects[-1] == TaskOpened(
        2,
        "test_confirm",
        None,
        ("test_bob",),
        ({"type": "business_role", "role": "test", "business": "game-a"},),
        False,
    )

    # test fails: the exclusive gateway's default sends the ticket back to the requester
    ticket.complete(
        "test_confirm",
        "test_bob",
        test_assessment="high_risk",
        test_result="fail",
        test_summary="Login crashes on Android 12.",
    )
    assert ticket.effects[0] == TaskClosed(2, "test_confirm", "completed", "test_bob")
    assert ticket.effects[-1] == TaskOpened(3, "submit", "pm_alice", ("pm_alice",), (), False)
    assert ticket.nodes == ["submit"]

    # the requester resubmits, changing only the package; earlier values are kept
    new_md5 = "0123456789abcdef0123456789abcdef"
    ticket.complete("submit", "pm_alice", package_md5=new_md5)
    completed = ticket.of(NodeCompleted)[0]
    assert completed.values == {"package_md5": new_md5}
    assert completed.changes == {"package_md5": [MD5.lower(), new_md5]}
    assert ticket.state["values"]["release_scope"] == SUBMIT["release_scope"]
    assert ticket.nodes == ["verify_package"]  # the new package is verified again
    assert verified(ticket).nodes == ["test_confirm"]

    ticket.complete(
        "test_confirm",
        "test_bob",
        test_assessment="low_risk",
        test_result="pass",
        test_summary="All green.",
    )
    assert ticket.nodes == ["coordinate"]
    assert ticket.tasks[6]["candidates"] == ["ops_carol"]

    ticket.approve("coordinate", "ops_carol")
    assert ApprovalDecided("coordinate", "approved") in ticket.effects
    assert ticket.nodes == ["release"]

    ticket.complete("release", "ops_carol", release_summary="Released at 22:05, no errors.")
    assert ticket.effects[-1] == TaskOpened(
        8, "qc_review", None, ("qc_c",), ({"type": "general_role", "role": "QC"},), False
    )

    ticket.complete("qc_review", "qc_c", qc_result="good", qc_summary="No incidents.")
    assert ticket.effects[-1] == TicketEnded("finished", "finished")

    state = ticket.state
    assert state["status"] == "finished"
    assert state["tasks"] == {}
    assert state["results"] == {"coordinate": "approved"}
    # no operator names an earlier step's handler and no step is kept apart from another, so
    # the state keeps nobody's handlers (the history has them, from the effects)
    assert (state["handlers"], state["handled_by"]) == ({}, {})
    assert state["visited"] == [
        "submit",
        "verify_package",
        "test_confirm",
        "coordinate",
        "release",
        "qc_review",
    ]
    assert state["values"] == {
        "package_url": SUBMIT["package_url"],
        "package_md5": new_md5,
        "release_scope": SUBMIT["release_scope"],
        "planned_at": "2026-11-28T14:00:00Z",
        "test_assessment": "low_risk",
        "test_result": "pass",
        "test_summary": "All green.",
        "release_summary": "Released at 22:05, no errors.",
        "qc_result": "good",
        "qc_summary": "No incidents.",
    }


def test_coordinate_rejection_returns_to_submit(ticket: Ticket):
    ticket.start("pm_alice", **SUBMIT)
    verified(ticket)
    ticket.complete(
        "test_confirm",
        "test_bob",
        test_assessment="low_risk",
        test_result="pass",
        test_summary="ok",
    )
    ticket.reject("coordinate", "ops_carol")
    assert ApprovalDecided("coordinate", "rejected") in ticket.effects
    assert Returned("coordinate", "submit", "ops_carol") in ticket.effects
    assert ticket.nodes == ["submit"]
    assert ticket.state["results"] == {"coordinate": "rejected"}
    # the values stay, so the resubmission only confirms them
    ticket.complete("submit", "pm_alice")
    assert verified(ticket).nodes == ["test_confirm"]


def test_only_product_may_submit(ticket: Ticket):
    from flowdesk.engine import NotAllowed

    ticket.ctx = make_ctx(requester="test_bob")
    with pytest.raises(NotAllowed) as error:
        ticket.start("test_bob", **SUBMIT)
    assert str(error.value) == (
        "You may not submit this request: it is submitted by business role 'product' of "
        "business 'game-a'."
    )


def test_required_values_at_submit(ticket: Ticket):
    from flowdesk.engine import InvalidValues

    with pytest.raises(InvalidValues) as error:
        ticket.start("pm_alice", package_url="file:///etc/passwd", package_md5="xyz")
    assert error.value.errors == {
        "package_url": ["Enter a URL starting with http://, https://, ftp:// or s3://."],
        "package_md5": ["Enter a 32-character hexadecimal MD5 checksum."],
        "release_scope": ["This field is required."],
        "planned_at": ["This field is required."],
    }


def test_other_business_resolves_its_own_roles(directory):
    ticket = Ticket(
        Definition.from_document(load_example()),
        make_ctx(directory, requester="pm_dave", business="game-b"),
    )
    ticket.start("pm_dave", **SUBMIT)
    assert verified(ticket).tasks[2]["candidates"] == ["test_erin"]


def test_withdraw_before_first_action_only(ticket: Ticket):
    from flowdesk.engine import NotAllowed, can_withdraw

    ticket.start("pm_alice", **SUBMIT)
    verified(ticket)
    # the system's check is not "someone handled a step"
    assert can_withdraw(ticket.defn, ticket.state, ticket.ctx, "pm_alice")
    assert not can_withdraw(ticket.defn, ticket.state, ticket.ctx, "test_bob")
    ticket.complete(
        "test_confirm", "test_bob", test_assessment="low_risk", test_result="fail", test_summary="x"
    )
    assert not can_withdraw(ticket.defn, ticket.state, ticket.ctx, "pm_alice")
    with pytest.raises(NotAllowed, match="someone has handled a step"):
        ticket.do("withdraw", actor="pm_alice")
