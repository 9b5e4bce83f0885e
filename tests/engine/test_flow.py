"""Token flow: parallel blocks, exclusive gateways, returns across blocks, runaway loops."""

from __future__ import annotations

import pytest

from flowdesk.engine import (
    EngineError,
    InvalidTarget,
    Returned,
    Stuck,
    TaskClosed,
    TicketEnded,
    return_targets,
)

from .conftest import END, START, Ticket, chain, gateway, make_ctx, task, users, workflow


def ticket_for(defn, directory) -> Ticket:
    ticket = Ticket(defn, make_ctx(directory))
    ticket.start()
    return ticket


@pytest.fixture
def parallel(directory) -> Ticket:
    """submit → split → (a | b1 → b2) → join → after → done"""
    defn = workflow(
        [START, gateway("split", "parallel_split"), task("a"), task("b1"), task("b2"),
         gateway("join", "parallel_join"), task("after"), END],
        [*chain("submit", "split", "a", "join"), *chain("split", "b1", "b2", "join"),
         *chain("join", "after", "done")],
    )  # fmt: skip
    return ticket_for(defn, directory)


def test_split_opens_every_branch_and_join_waits(parallel: Ticket):
    assert parallel.nodes == ["a", "b1"]
    parallel.complete("a", "ann")
    assert parallel.nodes == ["b1"]
    assert parallel.state["joins"] == {"join": [2]}
    parallel.complete("b1", "ann")
    parallel.complete("b2", "ann")
    assert parallel.nodes == ["after"]
    assert parallel.state["joins"] == {}
    parallel.complete("after", "ann")
    assert parallel.state["status"] == "finished"


@pytest.fixture
def nested(directory) -> Ticket:
    """submit → s1 → (a → s2 → (x | y) → j2 → a2 | b) → j1 → after → done"""
    defn = workflow(
        [START, gateway("s1", "parallel_split"), task("a"), gateway("s2", "parallel_split"),
         task("x"), task("y"), gateway("j2", "parallel_join"), task("a2"), task("b"),
         gateway("j1", "parallel_join"), task("after"), END],
        [*chain("submit", "s1", "a", "s2", "x", "j2", "a2", "j1", "after", "done"),
         *chain("s2", "y", "j2"), *chain("s1", "b", "j1")],
    )  # fmt: skip
    return ticket_for(defn, directory)


def test_nested_blocks_join_once(nested: Ticket):
    assert nested.nodes == ["a", "b"]
    nested.complete("a", "ann")
    assert nested.nodes == ["b", "x", "y"]
    nested.complete("b", "ann")
    nested.complete("y", "ann")
    assert nested.nodes == ["x"]
    nested.complete("x", "ann")
    assert nested.nodes == ["a2"]
    nested.complete("a2", "ann")
    assert nested.nodes == ["after"]
    opened = [e.node for e in nested.effects if e.kind == "task_opened"]
    assert opened == ["after"]


def test_structure_is_known(nested: Ticket):
    contexts = nested.defn.contexts
    assert contexts["a"] == (("s1", 1),)
    assert contexts["x"] == (("s1", 1), ("s2", 3))
    assert contexts["j2"] == (("s1", 1),)
    assert contexts["after"] == ()
    assert nested.defn.split_join == {"s1": "j1", "s2": "j2"}


def test_return_from_a_branch_to_before_the_block_cancels_other_branches(parallel: Ticket):
    parallel.complete("a", "ann")
    parallel.complete("b1", "ann")
    assert return_targets(parallel.defn, parallel.state, parallel.task_at("b2")) == [
        "submit", "b1",
    ]  # fmt: skip
    parallel.do("return_to", node="b2", actor="ann", target="submit")
    assert parallel.nodes == ["submit"]
    assert parallel.state["joins"] == {}
    assert parallel.of(TaskClosed)[0].outcome == "returned"
    parallel.complete("submit", "pm_alice")
    assert parallel.nodes == ["a", "b1"]


def test_return_before_the_block_cancels_open_sibling_tasks(parallel: Ticket):
    parallel.complete("b1", "ann")
    parallel.do("return_to", node="b2", actor="ann", target="submit")
    closed = {(e.node, e.outcome) for e in parallel.of(TaskClosed)}
    assert closed == {("b2", "returned"), ("a", "cancelled")}
    assert parallel.nodes == ["submit"]


def test_return_within_a_branch_keeps_the_other_branch(parallel: Ticket):
    parallel.complete("a", "ann")  # a's token waits at the join
    parallel.complete("b1", "ann")
    parallel.do("return_to", node="b2", actor="ann", target="b1")
    assert parallel.nodes == ["b1"]
    assert parallel.state["joins"] == {"join": [2]}
    parallel.complete("b1", "ann")
    parallel.complete("b2", "ann")
    assert parallel.nodes == ["after"]


def test_sibling_branches_are_not_return_targets(parallel: Ticket):
    parallel.complete("b1", "ann")
    assert return_targets(parallel.defn, parallel.state, parallel.task_at("a")) == ["submit"]
    with pytest.raises(InvalidTarget) as error:
        parallel.do("return_to", node="a", actor="ann", target="b1")
    assert str(error.value) == (
        "Step 'A' cannot send the ticket back to 'b1'. Choose one of: submit."
    )


def test_return_into_a_finished_block_redoes_only_that_branch(nested: Ticket):
    for node in ("a", "b", "x", "y", "a2"):
        nested.complete(node, "ann")
    assert nested.nodes == ["after"]
    targets = return_targets(nested.defn, nested.state, nested.task_at("after"))
    assert targets == ["submit", "a", "b", "x", "y", "a2"]
    nested.do("return_to", node="after", actor="ann", target="x")
    assert nested.nodes == ["x"]
    nested.complete("x", "ann")
    assert nested.nodes == ["a2"]
    nested.complete("a2", "ann")
    assert nested.nodes == ["after"]


def test_return_to_unvisited_or_own_node_is_refused(parallel: Ticket):
    for target in ("after", "a", "nowhere"):
        with pytest.raises(InvalidTarget):
            parallel.do("return_to", node="a", actor="ann", target=target)


@pytest.fixture
def routing(directory):
    fields = [{"key": "size", "type": "integer", "label": "Size"}]
    return workflow(
        [{**START, "fields": ["size"]}, gateway("route"), task("big"), task("huge"),
         task("small"), END],
        [{"from": "submit", "to": "route"},
         {"from": "route", "to": "small", "default": True},
         {"from": "route", "to": "big", "when": {"field": "size", "op": "ge", "value": 10}},
         {"from": "route", "to": "huge", "when": {"field": "size", "op": "ge", "value": 100}},
         *chain("big", "done"), *chain("huge", "done"), *chain("small", "done")],
        fields,
    )  # fmt: skip


@pytest.mark.parametrize(("size", "expected"), [(1, "small"), (None, "small"), (10, "big"),
                                                (500, "big")])  # fmt: skip
def test_exclusive_takes_the_first_true_condition_else_default(routing, directory, size, expected):
    ticket = Ticket(routing, make_ctx(directory))
    ticket.start(size=size)
    assert ticket.nodes == [expected]


def test_loop_back_through_a_gateway(directory):
    fields = [{"key": "again", "type": "boolean", "label": "Again"}]
    defn = workflow(
        [START, task("work", fields=("again",)), gateway("more"), END],
        [*chain("submit", "work", "more"),
         {"from": "more", "to": "work", "when": {"field": "again", "op": "eq", "value": True}},
         {"from": "more", "to": "done", "default": True}],
        fields,
    )  # fmt: skip
    ticket = ticket_for(defn, directory)
    for _ in range(3):
        ticket.complete("work", "ann", again=True)
        assert ticket.nodes == ["work"]
    ticket.complete("work", "ann", again=False)
    assert ticket.effects[-1] == TicketEnded("finished", "finished")


def test_parallel_block_inside_a_loop_fires_each_round(directory):
    fields = [{"key": "again", "type": "boolean", "label": "Again"}]
    defn = workflow(
        [START, gateway("split", "parallel_split"), task("a", fields=("again",)), task("b"),
         gateway("join", "parallel_join"), gateway("more"), END],
        [*chain("submit", "split", "a", "join", "more"), *chain("split", "b", "join"),
         {"from": "more", "to": "split", "when": {"field": "again", "op": "eq", "value": True}},
         {"from": "more", "to": "done", "default": True}],
        fields,
    )  # fmt: skip
    ticket = ticket_for(defn, directory)
    ticket.complete("a", "ann", again=True)
    ticket.complete("b", "ann")
    assert ticket.nodes == ["a", "b"]
    ticket.complete("b", "ann")
    ticket.complete("a", "ann", again=False)
    assert ticket.state["status"] == "finished"


def test_end_reached_with_tasks_open_cancels_them(directory):
    # not block-structured (validation would refuse it): one branch runs straight to the end
    defn = workflow(
        [START, gateway("split", "parallel_split"), task("a"), task("b"), END],
        [*chain("submit", "split", "a", "done"), *chain("split", "b", "done")],
    )
    ticket = ticket_for(defn, directory)
    ticket.complete("a", "ann")
    assert ticket.state["status"] == "finished"
    assert ticket.tasks == {}
    assert TaskClosed(2, "b", "cancelled", None) in ticket.effects


def test_gateway_only_cycle_is_stopped(directory):
    defn = workflow(
        [START, gateway("g1"), gateway("g2"), END],
        [*chain("submit", "g1"), {"from": "g1", "to": "g2", "default": True},
         {"from": "g2", "to": "g1", "default": True}, *chain("g1", "done")],
    )  # fmt: skip
    with pytest.raises(EngineError, match="round in circles"):
        Ticket(defn, make_ctx(directory)).start()


def test_a_join_that_can_never_fire_is_refused(directory):
    # a branch that never reaches the join (validation would refuse the document)
    defn = workflow(
        [START, gateway("split", "parallel_split"), task("a"), task("b"), task("c"),
         gateway("join", "parallel_join"), END],
        [*chain("submit", "split", "a", "join", "done"), *chain("split", "b", "join"),
         *chain("c", "join")],
    )  # fmt: skip
    ticket = ticket_for(defn, directory)
    ticket.complete("a", "ann")
    with pytest.raises(Stuck):
        ticket.complete("b", "ann")


def test_returned_effect_and_handlers(parallel: Ticket):
    parallel.do("return_to", node="a", actor="ann", target="submit")
    assert Returned("a", "submit", "ann") in parallel.effects
    assert "a" not in parallel.state["handlers"]


def test_users_operator_keeps_only_existing_users(directory):
    defn = workflow(
        [START, task("t", users("ghost", "ben", "ann")), END], chain("submit", "t", "done")
    )
    ticket = ticket_for(defn, directory)
    assert ticket.tasks[1]["candidates"] == ["ben", "ann"]


def test_return_from_a_later_block_into_an_earlier_one(directory):
    """submit → p1 → (a | b) → j1 → p2 → (c | d) → j2 → done; d returns to a."""
    defn = workflow(
        [START, gateway("p1", "parallel_split"), task("a"), task("b"),
         gateway("j1", "parallel_join"), gateway("p2", "parallel_split"), task("c"), task("d"),
         gateway("j2", "parallel_join"), END],
        [*chain("submit", "p1", "a", "j1", "p2", "c", "j2", "done"), *chain("p1", "b", "j1"),
         *chain("p2", "d", "j2")],
    )  # fmt: skip
    ticket = ticket_for(defn, directory)
    ticket.complete("a", "ann")
    ticket.complete("b", "ann")
    assert ticket.nodes == ["c", "d"]
    assert return_targets(defn, ticket.state, ticket.task_at("d")) == ["submit", "a", "b"]
    ticket.do("return_to", node="d", actor="ann", target="a")
    assert {(e.node, e.outcome) for e in ticket.of(TaskClosed)} == {
        ("d", "returned"), ("c", "cancelled"),
    }  # fmt: skip
    assert ticket.nodes == ["a"]
    ticket.complete("a", "ann")  # b counts as done: the block goes on
    assert ticket.nodes == ["c", "d"]
