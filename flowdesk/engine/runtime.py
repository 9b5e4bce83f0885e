"""The engine's actions: given a definition, a ticket's state and an action, the new state and
what happened (effects). Pure: the caller passes the clock and the directory in, and the state
passed in is never modified."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from ._machine import LIVE, SYSTEM_ACTOR, Run, can_return, fork, new_state
from .definition import Definition, Node
from .effects import AutomationFailed, Effect, StatusChanged
from .errors import InvalidTarget, NotAllowed, NotRunning, SeparationOfDuties
from .operators import describe_operator, resolve_operators

__all__ = [
    "SYSTEM_ACTOR",
    "Context",
    "Directory",
    "Result",
    "approve",
    "barred",
    "can_withdraw",
    "complete",
    "current_nodes",
    "fail_automation",
    "open_tasks",
    "reject",
    "resume",
    "return_targets",
    "return_to",
    "start",
    "suspend",
    "terminate",
    "withdraw",
]


class Directory(Protocol):
    def business_role_members(self, role: str, business: str) -> list[str]: ...
    def general_role_members(self, role: str) -> list[str]: ...
    def manager_of(self, user: str) -> str | None: ...
    def existing_users(self, users: Iterable[str]) -> set[str]: ...


@dataclass(frozen=True)
class Context:
    now: str  # ISO 8601 UTC, e.g. "2026-11-27T10:00:00Z"
    requester: str
    business: str | None
    directory: Directory
    service_owners: tuple[str, ...] = ()


@dataclass(frozen=True)
class Result:
    state: dict
    effects: list[Effect]


# --- starting and handling steps -----------------------------------------------------------


def start(defn: Definition, ctx: Context, *, actor: str, values: dict) -> Result:
    """Submit a new ticket: the start node's values, then on to the first steps."""
    node = defn.node(defn.start)
    state = new_state(defn, ctx.now)
    if node.operators and actor not in resolve_operators(defn, node, state, ctx).users:
        who = " or ".join(describe_operator(defn, op, ctx.business) for op in node.operators)
        raise NotAllowed(f"You may not submit this request: it is submitted by {who}.")
    run = Run(defn, state, ctx, actor)
    state["visited"].append(node.id)
    submitted, changes = run.accept_values(node, values, require=True)
    run.complete_node(node, [actor], submitted, changes)
    run.advance(defn.outgoing[node.id])
    return _done(run)


def complete(
    defn: Definition,
    state: dict,
    ctx: Context,
    *,
    task: int,
    actor: str,
    values: dict,
    override: bool = False,
) -> Result:
    """Complete a task (or resubmit at the start node); `override` skips separation of duties
    (the caller checks who may). A timer or automation step is completed by `SYSTEM_ACTOR` or
    by hand by a person; its values are checked but none is required."""
    run, node = _task_run(defn, state, ctx, task, actor)
    if node.type == "approval":
        raise NotAllowed(f"Step '{node.label}' is an approval: approve or reject it.")
    _check_separation(defn, state, ctx, task, actor, override)
    submitted, changes = run.accept_values(node, values, require=not node.system)
    run.close_task(task, "completed")
    run.mark_acted()
    run.complete_node(node, [actor], submitted, changes)
    run.advance([defn.leave(node)])
    return _done(run)


def approve(
    defn: Definition,
    state: dict,
    ctx: Context,
    *,
    task: int,
    actor: str,
    values: dict | None = None,
    override: bool = False,
) -> Result:
    return _vote(defn, state, ctx, task, actor, values, "approved", override)


def reject(
    defn: Definition,
    state: dict,
    ctx: Context,
    *,
    task: int,
    actor: str,
    values: dict | None = None,
    override: bool = False,
) -> Result:
    return _vote(defn, state, ctx, task, actor, values, "rejected", override)


def _vote(
    defn: Definition,
    state: dict,
    ctx: Context,
    task: int,
    actor: str,
    values: dict | None,
    decision: str,
    override: bool,
) -> Result:
    run, node = _task_run(defn, state, ctx, task, actor)
    if node.type != "approval":
        raise NotAllowed(f"Step '{node.label}' is not an approval: complete it instead.")
    _check_separation(defn, state, ctx, task, actor, override)
    submitted, changes = run.accept_values(node, values, require=decision == "approved")
    run.mark_acted()
    run.vote(task, node, decision, submitted, changes)
    return _done(run)


def barred(defn: Definition, state: dict, task: int, actor: str, *, requester: str) -> str | None:
    """Why separation of duties keeps `actor` from handling open task `task`, or None.

    Takes the requester rather than a Context so that lists can ask it without the directory."""
    record = state["tasks"].get(str(task))
    if record is None:
        return None
    node = defn.node(record["node"])
    if node.system:
        return None
    requester_rule = not defn.settings.separation.requester_may_approve
    if node.type == "approval" and requester_rule and actor == requester:
        return "You submitted this request, so you may not approve or reject it."
    handled_by = state.get("handled_by", {})
    for other in defn.kept_apart(node.id):
        if actor in state["handlers"].get(other, []) or actor in handled_by.get(other, []):
            label = defn.node(other).label
            return f"You handled '{label}' on this ticket, so you may not handle '{node.label}'."
    return None


def _check_separation(
    defn: Definition, state: dict, ctx: Context, task: int, actor: str, override: bool
) -> None:
    reason = None if override else barred(defn, state, task, actor, requester=ctx.requester)
    if reason is not None:
        raise SeparationOfDuties(reason)


def return_targets(defn: Definition, state: dict, task: int) -> list[str]:
    """Steps this task may send the ticket back to, in order of first visit."""
    record = state["tasks"].get(str(task))
    if record is None:
        return []
    here = record["node"]
    return [
        node_id
        for node_id in state["visited"]
        if node_id != here and defn.node(node_id).human and can_return(defn, here, node_id)
    ]


def return_to(
    defn: Definition, state: dict, ctx: Context, *, task: int, actor: str, target: str
) -> Result:
    """Send the ticket back to an earlier step; values are kept and become its defaults."""
    run, node = _task_run(defn, state, ctx, task, actor)
    allowed = return_targets(defn, run.state, task)
    if target not in allowed:
        choices = f" Choose one of: {', '.join(allowed)}." if allowed else ""
        raise InvalidTarget(
            f"Step '{node.label}' cannot send the ticket back to '{target}'.{choices}"
        )
    run.close_task(task, "returned")
    run.mark_acted()
    run.rewind(node.id, target)
    return _done(run)


def fail_automation(
    defn: Definition, state: dict, ctx: Context, *, task: int, reason: str
) -> Result:
    """An automation step failed for good (retries spent, a timeout, a failure answer): by its
    `on_failure`, the task stays open for its operators (`wait`) or the system sends the ticket
    back to `return_to` (`return`). Either way an `AutomationFailed` effect says why."""
    run, node = _task_run(defn, state, ctx, task, SYSTEM_ACTOR)
    if node.automation is None:
        raise NotAllowed(f"Step '{node.label}' is not an automation step.")
    on_failure = node.automation.on_failure
    run.effects.append(AutomationFailed(task, node.id, reason, on_failure))
    if on_failure == "return" and node.automation.return_to:
        run.close_task(task, "returned")
        run.rewind(node.id, node.automation.return_to)
    return _done(run)


# --- the ticket as a whole -----------------------------------------------------------------


def withdraw(defn: Definition, state: dict, ctx: Context, *, actor: str) -> Result:
    """The requester takes the ticket back; it ends as withdrawn."""
    problem = _withdraw_problem(defn, state, ctx, actor)
    if problem is not None:
        raise problem
    run = Run(defn, fork(state), ctx, actor)
    run.end("withdrawn", "withdrawn by requester", "withdrawn")
    return _done(run)


def can_withdraw(defn: Definition, state: dict, ctx: Context, actor: str) -> bool:
    return _withdraw_problem(defn, state, ctx, actor) is None


def _withdraw_problem(
    defn: Definition, state: dict, ctx: Context, actor: str
) -> NotAllowed | NotRunning | None:
    if state["status"] not in LIVE:
        return NotRunning(state["status"])
    if actor != ctx.requester:
        return NotAllowed("Only the requester can withdraw this ticket.")
    rule = defn.settings.withdraw
    if rule == "never":
        return NotAllowed("This process does not allow withdrawing a ticket.")
    if rule == "before_first_action" and state.get("acted"):
        return NotAllowed("The ticket can no longer be withdrawn: someone has handled a step.")
    return None


def terminate(defn: Definition, state: dict, ctx: Context, *, actor: str) -> Result:
    """End the ticket now (who may do this is checked by the caller)."""
    if state["status"] not in LIVE:
        raise NotRunning(state["status"])
    run = Run(defn, fork(state), ctx, actor)
    run.end("terminated", "terminated", "terminated")
    return _done(run)


def suspend(defn: Definition, state: dict, ctx: Context, *, actor: str) -> Result:
    if state["status"] == "suspended":
        raise NotRunning("suspended", "The ticket is already suspended.")
    return _set_status(state, "running", "suspended")


def resume(defn: Definition, state: dict, ctx: Context, *, actor: str) -> Result:
    if state["status"] == "running":
        raise NotRunning("running", "The ticket is not suspended.")
    return _set_status(state, "suspended", "running")


def _set_status(state: dict, old: str, new: str) -> Result:
    if state["status"] != old:
        raise NotRunning(state["status"])
    return Result({**state, "status": new}, [StatusChanged(old, new)])


# --- reading state -------------------------------------------------------------------------


def open_tasks(state: dict) -> dict[int, dict]:
    """Open tasks by id, oldest first: {id: {node, assignee, candidates, sources, claim, ...}}."""
    tasks = state.get("tasks", {})
    return {int(key): dict(tasks[key]) for key in sorted(tasks, key=int)}


def current_nodes(state: dict) -> list[str]:
    """Steps (human or system nodes) with open tasks, in the order they were activated."""
    nodes: list[str] = []
    records = sorted(open_tasks(state).items(), key=lambda item: item[1].get("activation", item[0]))
    for _, record in records:
        if record["node"] not in nodes:
            nodes.append(record["node"])
    return nodes


# --- helpers -------------------------------------------------------------------------------


def _task_run(
    defn: Definition, state: dict, ctx: Context, task: int, actor: str
) -> tuple[Run, Node]:
    if state["status"] != "running":
        raise NotRunning(state["status"])
    run = Run(defn, fork(state), ctx, actor)
    node = defn.node(run.task(task)["node"])
    if actor == SYSTEM_ACTOR and not node.system:
        raise NotAllowed(f"Step '{node.label}' is handled by people, not by the system.")
    return run, node


def _done(run: Run) -> Result:
    run.check()
    return Result(run.state, run.effects)
