"""Separation of duties in the engine: the requester does not vote on their own ticket, nodes
kept apart (`distinct`, `separate_from`) need different people, and an override skips both."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowdesk import engine
from flowdesk.engine import NotAllowed, SeparationOfDuties, load_document

from .conftest import (
    END,
    START,
    Ticket,
    approval,
    chain,
    load_example,
    make_ctx,
    task,
    users,
    workflow,
)

STRICT = Path(__file__).resolve().parents[2] / "examples" / "app-release-strict.yaml"

TEAM = users("ann", "ben")


def release_flow(settings: dict | None = None, **release_extra) -> engine.Definition:
    """submit → cab (approval) → build (task) → release (task) → done, everyone from TEAM."""
    return workflow(
        [
            {**START, "operators": [users("ann", "pm_alice")]},
            approval("cab", TEAM),
            task("build", TEAM),
            task("release", TEAM, **release_extra),
            END,
        ],
        chain("submit", "cab", "build", "release", "done"),
        settings=settings,
    )


def started(defn: engine.Definition, requester: str = "ann") -> Ticket:
    ticket = Ticket(defn, make_ctx(requester=requester))
    ticket.start(actor=requester)
    return ticket


def barred(ticket: Ticket, node: str, actor: str) -> str | None:
    return engine.barred(
        ticket.defn, ticket.state, ticket.task_at(node), actor, requester=ticket.ctx.requester
    )


@pytest.mark.parametrize("verb", ["approve", "reject"])
def test_the_requester_may_not_vote_on_their_own_ticket(verb):
    ticket = started(release_flow())
    state = ticket.state
    with pytest.raises(SeparationOfDuties) as caught:
        ticket.do(verb, node="cab", actor="ann")
    assert caught.value.code == "separation_of_duties"
    assert isinstance(caught.value, NotAllowed)  # callers that map NotAllowed still refuse
    assert str(caught.value) == "You submitted this request, so you may not approve or reject it."
    assert ticket.state is state
    assert barred(ticket, "cab", "ben") is None
    ticket.do(verb, node="cab", actor="ben")


def test_a_workflow_may_let_the_requester_approve():
    ticket = started(release_flow({"separation": {"requester_may_approve": True}}))
    assert barred(ticket, "cab", "ann") is None
    ticket.approve("cab", "ann")
    assert ticket.tasks[ticket.task_at("build")]["node"] == "build"


def test_the_requester_may_still_complete_plain_tasks():
    ticket = started(release_flow())
    ticket.approve("cab", "ben")
    assert barred(ticket, "build", "ann") is None
    ticket.complete("build", "ann")


def test_distinct_nodes_need_different_people():
    defn = release_flow({"separation": {"distinct": [["cab", "release"]]}})
    ticket = started(defn)
    ticket.approve("cab", "ben")
    ticket.complete("build", "ben")  # build is not kept apart from anything
    reason = "You handled 'Cab' on this ticket, so you may not handle 'Release'."
    assert barred(ticket, "release", "ben") == reason
    with pytest.raises(SeparationOfDuties, match=reason):
        ticket.complete("release", "ben")
    ticket.complete("release", "ann")
    assert ticket.state["status"] == "finished"


def test_separate_from_keeps_the_nodes_apart_both_ways():
    """`separate_from` on release bars cab's approver from release, and after a return the
    releaser from cab, even though release's handlers were recorded on another visit."""
    defn = workflow(
        [
            {**START, "operators": [users("pm_alice")]},
            approval("cab", TEAM),
            task("release", TEAM, separate_from=["cab"]),
            approval("check", TEAM, on_reject="return", return_to="cab"),
            END,
        ],
        chain("submit", "cab", "release", "check", "done"),
    )
    ticket = started(defn, requester="pm_alice")
    ticket.approve("cab", "ann")
    assert barred(ticket, "release", "ann") is not None
    ticket.complete("release", "ben")
    ticket.reject("check", "ann")  # back to cab
    assert barred(ticket, "cab", "ben") == (
        "You handled 'Release' on this ticket, so you may not handle 'Cab'."
    )
    assert barred(ticket, "cab", "ann") is None


def test_a_vote_in_an_undecided_countersign_counts_as_handling():
    defn = workflow(
        [
            START,
            approval("cab", TEAM, mode="all"),
            task("release", TEAM),
            END,
        ],
        chain("submit", "cab", "release", "done"),
        settings={"separation": {"distinct": [["cab", "release"]]}},
    )
    ticket = started(defn, requester="pm_alice")
    ticket.approve("cab", "ann")
    assert ticket.state["handled_by"] == {"cab": ["ann"]}
    ticket.approve("cab", "ben")
    assert barred(ticket, "release", "ann") is not None
    assert barred(ticket, "release", "ben") is not None


@pytest.mark.parametrize("verb", ["approve", "reject"])
def test_an_override_skips_the_check(verb):
    ticket = started(release_flow())
    ticket.do(verb, node="cab", actor="ann", override=True)
    assert ticket.state["results"]["cab"] == ("approved" if verb == "approve" else "rejected")


def test_an_override_of_a_distinct_step():
    ticket = started(release_flow({"separation": {"distinct": [["cab", "release"]]}}))
    ticket.approve("cab", "ben")
    ticket.complete("build", "ann")
    ticket.do("complete", node="release", actor="ben", values={}, override=True)
    assert ticket.state["status"] == "finished"


def test_tickets_started_before_handled_by_existed_use_the_handlers():
    ticket = started(release_flow({"separation": {"distinct": [["cab", "release"]]}}))
    ticket.approve("cab", "ben")
    ticket.complete("build", "ann")
    del ticket.state["handled_by"]
    assert barred(ticket, "release", "ben") is not None
    assert barred(ticket, "release", "ann") is None


def test_kept_apart_merges_distinct_groups_and_separate_from_in_node_order():
    defn = workflow(
        [
            START,
            approval("cab", TEAM),
            task("build", TEAM, separate_from=["submit"]),
            task("release", TEAM, separate_from=["cab"]),
            END,
        ],
        chain("submit", "cab", "build", "release", "done"),
        settings={"separation": {"distinct": [["release", "build", "submit"]]}},
    )
    assert defn.kept_apart("release") == ["submit", "cab", "build"]
    assert defn.kept_apart("cab") == ["release"]
    assert defn.kept_apart("submit") == ["build", "release"]


# --- validation ----------------------------------------------------------------------------


def strict_document(separation: dict, **release_extra) -> dict:
    doc = load_example()
    doc["settings"]["separation"] = separation
    release = next(node for node in doc["nodes"] if node["id"] == "release")
    release.update(release_extra)
    return doc


def problems(doc: dict) -> list[str]:
    return [str(problem) for problem in engine.validate_document(doc)]


def test_the_strict_example_is_valid():
    assert problems(load_document(STRICT.read_text(encoding="utf-8"))) == []


def test_bad_references_are_reported_with_their_paths():
    doc = strict_document(
        {"distinct": [["coordinate", "releas"], ["test_passed", "submit"], ["done"]]},
        separate_from=["release", "qc_reveiw"],
    )
    assert problems(doc) == [
        "settings.separation.distinct[0][1]: no node has the id 'releas' (did you mean 'release'?)",
        "settings.separation.distinct[1][0]: 'test_passed' is an exclusive node; separation of "
        "duties names human nodes (start, task or approval)",
        "settings.separation.distinct[2]: name at least two nodes to keep apart",
        "nodes[5].separate_from[0]: a node cannot be kept apart from itself; name other nodes",
        "nodes[5].separate_from[1]: no node has the id 'qc_reveiw' (did you mean 'qc_review'?)",
    ]


def test_only_human_nodes_take_separate_from_and_unknown_keys_are_refused():
    doc = strict_document({"requester_may_approve": "no", "four_eyes": True})
    doc["nodes"][3]["separate_from"] = ["submit"]  # test_passed, an exclusive gateway
    found = problems(doc)
    assert any(p.startswith("settings.separation.requester_may_approve:") for p in found)
    assert any(p.startswith("settings.separation") and "four_eyes" in p for p in found)
    assert "nodes[3].separate_from: only start, task and approval nodes take separate_from" in (
        found
    )
