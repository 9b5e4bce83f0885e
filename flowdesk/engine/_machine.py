"""The token machine behind the runtime's actions: one `Run` per action, on a `fork` of state.

Tokens are not stored: between actions every token waits either at a step (a human or system
node, as its open tasks) or at a join (as an arrival). So state holds only open tasks and small
per-node maps, and a step costs the same however long the ticket's history is.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .conditions import evaluate
from .definition import Definition, Node, Transition
from .effects import (
    ApprovalDecided,
    Effect,
    NodeCompleted,
    NodeSkipped,
    Returned,
    TaskClosed,
    TaskOpened,
    TicketEnded,
)
from .errors import DefinitionError, EngineError, NoOperator, Stuck, TaskNotOpen
from .fields import validate_node_values
from .operators import resolve_operators

if TYPE_CHECKING:
    from .runtime import Context

STATE_VERSION = 1
SYSTEM_ACTOR = ":system"  # not a valid username, so no person can act as the system
LIVE = ("running", "suspended")
HANDLED = frozenset({"completed", "approved", "rejected", "returned"})


def new_state(defn: Definition, now: str) -> dict:
    return {
        "v": STATE_VERSION,
        "status": "running",
        "values": dict(defn.defaults),
        "results": {},
        "handlers": {},
        "handled_by": {},  # node id -> everyone who ever handled one of its tasks
        "visited": [],
        "tasks": {},  # open tasks only: {"7": {node, assignee, candidates, sources, claim, ...}}
        "closed": {},  # per node, tasks closed by the last action or of a node still open
        "joins": {},  # join id -> indices of incoming transitions a token arrived on
        "approvals": {},  # countersign node id -> its ballot for the current visit
        "next_task": 1,
        "acted": False,  # has anyone but the requester handled a step?
        "started_at": now,
        "ended_at": None,
    }


def fork(state: dict) -> dict:
    """The state an action works on, leaving `state` as it is: the top level and each map or
    list in it are copied, but what they hold is shared – so `Run` replaces an item, never
    changes it in place. An action costs O(size of the top-level maps), not a deep copy."""
    return {key: _shallow(value) for key, value in state.items()}


def _shallow(value: object) -> object:
    return value.copy() if isinstance(value, dict | list) else value


def clone(value: object) -> object:
    """Deep copy of JSON data; much faster than copy.deepcopy (no memo, no dispatch)."""
    if isinstance(value, dict):
        return {key: clone(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clone(item) for item in value]
    return value


def common_depth(here: tuple, there: tuple) -> int:
    depth = 0
    for mine, theirs in zip(here, there, strict=False):
        if mine != theirs:
            break
        depth += 1
    return depth


def can_return(defn: Definition, from_node: str, target: str) -> bool:
    """Whether going back cannot strand a join: anywhere but a sibling branch of a parallel
    block the current step is in (that branch would count as done while this one is not)."""
    here, there = defn.contexts.get(from_node, ()), defn.contexts.get(target, ())
    depth = common_depth(here, there)
    if depth < len(here) and depth < len(there):
        return here[depth][0] != there[depth][0]
    return True


class Run:
    def __init__(self, defn: Definition, state: dict, ctx: Context, actor: str | None) -> None:
        self.defn = defn
        self.state = state
        self.ctx = ctx
        self.actor = actor
        self.effects: list[Effect] = []
        self.pruned = False  # has this action dropped `closed` records of finished steps?

    # --- tasks ---------------------------------------------------------------------------

    def task(self, task_id: int) -> dict:
        record = self.state["tasks"].get(str(task_id))
        if record is None:
            raise closed_error(self.state, task_id)
        return record

    def open_task(
        self,
        node: Node,
        assignee: str | None,
        candidates: Iterable[str],
        sources: Iterable[dict] = (),
        claim: bool = False,
        activation: int | None = None,
    ) -> int:
        task_id = self.state["next_task"]
        self.state["next_task"] = task_id + 1
        candidates, sources = tuple(candidates), tuple(sources)
        self.state["tasks"][str(task_id)] = {
            "node": node.id,
            "assignee": assignee,
            "candidates": list(candidates),
            "sources": [dict(source) for source in sources],
            "claim": claim,
            "opened_at": self.ctx.now,
            "activation": activation or task_id,  # orders current_nodes
        }
        self.effects.append(TaskOpened(task_id, node.id, assignee, candidates, sources, claim))
        return task_id

    def close_task(self, task_id: int, outcome: str) -> None:
        closed = self._closed()
        record = self.state["tasks"].pop(str(task_id))
        node = record["node"]
        entry = {"by": self.actor, "at": self.ctx.now, "outcome": outcome}
        closed[node] = {**closed.get(node, {}), str(task_id): entry}
        by = self.actor if outcome in HANDLED else None  # cancelled tasks were handled by no one
        if by is not None and node in self.defn.apart:  # only separation of duties reads it
            handled_by = self.state.setdefault("handled_by", {})
            if by not in handled_by.get(node, []):
                handled_by[node] = [*handled_by.get(node, []), by]
        self.effects.append(TaskClosed(task_id, node, outcome, by))

    def _closed(self) -> dict:
        """`closed`, as this action first closes a task: steps with no open task left drop
        their records. They were kept until now, for a late click on them to learn who closed
        it and when; so the state does not grow with every step ever taken. (Older states kept
        every record; they shrink on their next action that closes a task.)"""
        if not self.pruned:
            busy = {record["node"] for record in self.state["tasks"].values()}
            closed = self.state["closed"]
            self.state["closed"] = {node: tasks for node, tasks in closed.items() if node in busy}
            self.pruned = True
        return self.state["closed"]

    def close_where(self, outcome: str, **match: object) -> None:
        for key, record in list(self.state["tasks"].items()):
            if all(record.get(name) == value for name, value in match.items()):
                self.close_task(int(key), outcome)

    # --- values and handlers -------------------------------------------------------------

    def accept_values(self, node: Node, values: dict | None, *, require: bool) -> tuple[dict, dict]:
        """Validate and store what the actor submitted; return (normalised, changes)."""
        current = self.state["values"]
        clean = validate_node_values(
            self.defn,
            node.id,
            values or {},
            current,
            require=require,
            known_users=self.ctx.directory.existing_users,
            results=self.state["results"],
        )
        changes = {}
        for key, value in clean.items():
            if current.get(key) != value:
                changes[key] = [current.get(key), value]
            current[key] = value
        return clean, changes

    def mark_acted(self) -> None:
        if self.actor not in (self.ctx.requester, SYSTEM_ACTOR):
            self.state["acted"] = True

    def complete_node(self, node: Node, handlers: list[str], values: dict, changes: dict) -> None:
        if node.id in self.defn.handlers_read:
            self.state["handlers"][node.id] = handlers
        self.effects.append(NodeCompleted(node.id, self.actor, values, changes))

    # --- token flow ----------------------------------------------------------------------

    def advance(self, transitions: Iterable[Transition]) -> None:
        """Move tokens along until each waits at a step or a join, or the ticket ends."""
        queue = deque(transitions)
        budget = 100 + 20 * len(self.defn.nodes)
        while queue and self.state["status"] in LIVE:
            budget -= 1
            if budget < 0:
                raise EngineError(
                    "The workflow goes round in circles without reaching a step. "
                    "Ask an administrator to check its gateways."
                )
            queue.extend(self._enter(queue.popleft()))

    def _enter(self, arrival: Transition) -> list[Transition]:
        node = self.defn.node(arrival.target)
        if node.type == "end":
            self.end("finished", "finished", "cancelled")
            return []
        if node.type == "exclusive":
            return [self._choose(node)]
        if node.type == "parallel_split":
            return list(self.defn.outgoing[node.id])
        if node.type == "parallel_join":
            return self._join(node, arrival)
        return self.activate(node)

    def _choose(self, node: Node) -> Transition:
        ways = self.defn.outgoing[node.id]
        state = self.state
        for way in ways:
            if way.when and evaluate(way.when, state["values"], state["results"], self.defn.fields):
                return way
        for way in ways:
            if way.default:
                return way
        raise DefinitionError(f"nodes.{node.id}", "no condition holds and there is no default")

    def _join(self, node: Node, arrival: Transition) -> list[Transition]:
        joins = self.state["joins"]
        arrived = joins.get(node.id, [])
        if arrival.index not in arrived:
            arrived = joins[node.id] = [*arrived, arrival.index]
        if len(arrived) < len(self.defn.incoming[node.id]):
            return []
        del self.state["joins"][node.id]  # reset, so a loop can fire it again
        return list(self.defn.outgoing[node.id])

    def activate(self, node: Node) -> list[Transition]:
        """Open the tasks of a step; return transitions to follow if it is skipped."""
        state = self.state
        state["closed"].pop(node.id, None)
        state["approvals"].pop(node.id, None)
        if node.id not in state["visited"]:
            state["visited"].append(node.id)
        if node.type == "start":  # back at submit: the requester edits and resubmits
            self.open_task(node, self.ctx.requester, [self.ctx.requester])
            return []
        found = resolve_operators(self.defn, node, state, self.ctx)
        users, sources = found.users, found.sources
        if node.system:  # the system acts: whoever may step in is a bonus, nobody is fine
            if not users:
                users, sources = list(self.ctx.service_owners), []
            self.open_task(node, None, users, sources)
            return []
        if not users:
            policy = self.defn.on_unassigned(node)
            detail = " and ".join(found.gaps) or "the step names no operators"
            if policy == "skip":
                return self._skip(node, detail)
            if policy != "service_owner" or not self.ctx.service_owners:
                extra = " and the service has no owners" if policy == "service_owner" else ""
                raise NoOperator(node.id, node.label, detail + extra)
            users, sources = list(self.ctx.service_owners), []
        if node.approval and node.approval.countersign:
            self._open_ballot(node, users)
        else:
            self.open_task(node, None, users, sources, node.claim)
        return []

    def _skip(self, node: Node, detail: str) -> list[Transition]:
        self.effects.append(NodeSkipped(node.id, f"nobody can handle it: {detail}"))
        if node.type == "approval":
            self.state["results"][node.id] = "approved"
            return [self.defn.leave(node, "approved")]
        return [self.defn.leave(node)]

    # --- approvals -----------------------------------------------------------------------

    def _open_ballot(self, node: Node, approvers: list[str]) -> None:
        assert node.approval is not None
        sequential = node.approval.order == "sequential"
        first = self.state["next_task"]
        self.state["approvals"][node.id] = {
            "approvers": approvers,
            "needed": node.approval.needed(len(approvers)),
            "votes": [],  # [user, "approved" | "rejected"] in order
            "next": 1 if sequential else len(approvers),
            "values": {},
            "changes": {},
            "activation": first,
        }
        for user in approvers[:1] if sequential else approvers:
            self.open_task(node, user, [user], activation=first)

    def vote(self, task_id: int, node: Node, decision: str, values: dict, changes: dict) -> None:
        """Record an approval or rejection; decide the step when the outcome is certain."""
        assert node.approval is not None
        self.close_task(task_id, decision)
        if not node.approval.countersign:
            self._decided(node, decision, [self.actor or ""], values, changes)
            return
        ballot = self.state["approvals"][node.id] = clone(self.state["approvals"][node.id])
        ballot["votes"].append([self.actor, decision])
        _merge_changes(ballot, values, changes)
        result = _tally(ballot)
        if result is None:
            if ballot["next"] < len(ballot["approvers"]):
                user = ballot["approvers"][ballot["next"]]
                ballot["next"] += 1
                self.open_task(node, user, [user], activation=ballot["activation"])
            return
        voters = [user for user, _ in ballot["votes"]]
        self._decided(node, result, voters, ballot["values"], ballot["changes"])

    def _decided(
        self, node: Node, result: str, handlers: list[str], values: dict, changes: dict
    ) -> None:
        assert node.approval is not None
        self.close_where("cancelled", node=node.id)
        self.state["approvals"].pop(node.id, None)
        self.state["results"][node.id] = result
        self.complete_node(node, handlers, values, changes)
        self.effects.append(ApprovalDecided(node.id, result))
        on_reject = node.approval.on_reject
        if result == "approved" or on_reject == "branch":
            self.advance([self.defn.leave(node, result)])
        elif on_reject == "return":
            if not node.approval.return_to:
                raise DefinitionError(f"nodes.{node.id}.approval", "return_to is missing")
            self.rewind(node.id, node.approval.return_to)
        else:
            self.end("terminated", f"rejected at {node.id}", "terminated")

    # --- returning and ending ------------------------------------------------------------

    def rewind(self, from_node: str, target: str) -> None:
        """Go back to `target`: cancel the tasks and join arrivals of the innermost region that
        holds both steps, so exactly one token runs in it again.

        Branches of enclosing parallel blocks go on; when the target sits inside a block that
        is not running, that block's other branches count as arrived at its join.
        """
        defn, state = self.defn, self.state
        if not can_return(defn, from_node, target):
            raise EngineError(f"Step '{from_node}' cannot go back to '{target}'.")
        there = defn.contexts.get(target, ())
        depth = common_depth(defn.contexts.get(from_node, ()), there)
        region = there[:depth]
        for key, record in list(state["tasks"].items()):
            if defn.contexts.get(record["node"], ())[:depth] == region:
                self.close_task(int(key), "cancelled")
                state["approvals"].pop(record["node"], None)
        for join in list(state["joins"]):
            split = defn.join_split.get(join)
            if split is None or defn.contexts.get(split, ())[:depth] == region:
                del state["joins"][join]
        for split, branch in there[depth:]:
            join = defn.split_join.get(split)
            if join:
                ways = defn.incoming[join]
                state["joins"][join] = [
                    t.index for t in ways if defn.branch_of.get(t.index) != branch
                ]
        self.effects.append(Returned(from_node, target, self.actor))
        self.advance(self.activate(defn.node(target)))

    def end(self, status: str, reason: str, task_outcome: str) -> None:
        for key in list(self.state["tasks"]):
            self.close_task(int(key), task_outcome)
        self.state["joins"].clear()
        self.state["approvals"].clear()
        self.state["status"] = status
        self.state["ended_at"] = self.ctx.now
        self.effects.append(TicketEnded(status, reason))

    def check(self) -> None:
        """A live ticket must wait at a task; otherwise the workflow stranded a token."""
        if self.state["status"] in LIVE and not self.state["tasks"]:
            raise Stuck(
                "This action would leave the ticket waiting with no open step (a parallel "
                "join that can never complete). Ask an administrator to check the process."
            )


def _merge_changes(ballot: dict, values: dict, changes: dict) -> None:
    ballot["values"].update(values)
    for key, (old, new) in changes.items():
        first = ballot["changes"].get(key, [old, new])[0]
        if first == new:
            ballot["changes"].pop(key, None)
        else:
            ballot["changes"][key] = [first, new]


def _tally(ballot: dict) -> str | None:
    approvals = sum(1 for _, decision in ballot["votes"] if decision == "approved")
    undecided = len(ballot["approvers"]) - len(ballot["votes"])
    if approvals >= ballot["needed"]:
        return "approved"
    if approvals + undecided < ballot["needed"]:
        return "rejected"
    return None


def closed_error(state: dict, task_id: int) -> TaskNotOpen:
    key = str(task_id)
    if not 0 < task_id < state["next_task"]:
        return TaskNotOpen(task_id, outcome="unknown")
    for records in state["closed"].values():
        if key in records:
            record = records[key]
            return TaskNotOpen(task_id, record["by"], record["at"], record["outcome"])
    return TaskNotOpen(task_id)
