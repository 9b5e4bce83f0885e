"""Who may handle a step: resolving a node's operators through the caller's directory."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .definition import Definition, Node

if TYPE_CHECKING:
    from .runtime import Context

__all__ = ["Resolved", "describe_operator", "resolve_operator_specs", "resolve_operators"]


@dataclass
class Resolved:
    users: list[str] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)  # role operators, for live membership
    gaps: list[str] = field(default_factory=list)  # why an operator gave nobody


def resolve_operators(defn: Definition, node: Node, state: dict, ctx: Context) -> Resolved:
    """The union of the node's operators' users, de-duplicated, in operator order."""
    return resolve_operator_specs(defn, node.operators, state, ctx)


def resolve_operator_specs(
    defn: Definition, specs: Iterable[dict], state: dict, ctx: Context
) -> Resolved:
    """The users of any operator specs (e.g. an SLA's `escalate_to`), as for a node's."""
    found = Resolved()
    for op in specs:
        users = _users_of(defn, op, state, ctx, found)
        if not users:
            found.gaps.append(_gap(defn, op, ctx))
        for user in users:
            if user not in found.users:
                found.users.append(user)
    return found


def _users_of(defn: Definition, op: dict, state: dict, ctx: Context, found: Resolved) -> list:
    kind = op.get("type")
    directory = ctx.directory
    if kind == "business_role":
        if ctx.business is None:
            return []
        found.sources.append({"type": kind, "role": op["role"], "business": ctx.business})
        return list(directory.business_role_members(op["role"], ctx.business))
    if kind == "general_role":
        found.sources.append({"type": kind, "role": op["role"]})
        return list(directory.general_role_members(op["role"]))
    if kind == "users":
        named = list(op.get("users") or [])
        existing = directory.existing_users(named) if named else set()
        return [user for user in named if user in existing]
    if kind == "requester":
        return [ctx.requester]
    if kind == "requester_manager":
        manager = directory.manager_of(ctx.requester)
        return [manager] if manager else []
    if kind == "field":
        value = state["values"].get(op.get("field", ""))
        if isinstance(value, str) and value:
            return [value]
        return [user for user in value or [] if isinstance(user, str)]
    if kind == "node_handler":
        return list(state["handlers"].get(op.get("node", ""), []))
    return []


def _gap(defn: Definition, op: dict, ctx: Context) -> str:
    kind = op.get("type")
    if kind == "business_role" and ctx.business is None:
        return f"business role '{op['role']}' needs a business and this ticket has none"
    if kind == "business_role":
        return f"business role '{op['role']}' has no members in business '{ctx.business}'"
    if kind == "general_role":
        return f"general role '{op['role']}' has no members"
    if kind == "users":
        return f"none of the users {', '.join(op.get('users') or [])} exists"
    if kind == "requester_manager":
        return f"the requester '{ctx.requester}' has no manager"
    if kind == "field":
        return f"field '{op.get('field')}' names nobody"
    if kind == "node_handler":
        step = defn.nodes.get(op.get("node", ""))
        return f"step '{step.label if step else op.get('node')}' has not been handled yet"
    return f"operator type '{kind}' names nobody"


def describe_operator(defn: Definition, op: dict, business: str | None) -> str:
    """Who an operator stands for, in words (for refusals)."""
    kind = op.get("type")
    if kind == "business_role":
        return f"business role '{op['role']}' of business '{business}'"
    if kind == "general_role":
        return f"general role '{op['role']}'"
    if kind == "users":
        return "users " + ", ".join(op.get("users") or [])
    if kind == "requester":
        return "the requester"
    if kind == "requester_manager":
        return "the requester's manager"
    if kind == "field":
        return f"the users named in field '{op.get('field')}'"
    if kind == "node_handler":
        step = defn.nodes.get(op.get("node", ""))
        return f"whoever handled step '{step.label if step else op.get('node')}'"
    return f"operator '{kind}'"
