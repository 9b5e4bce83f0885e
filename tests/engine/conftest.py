"""Engine test helpers: an in-memory directory with the demo people, and a ticket driver."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from flowdesk import engine
from flowdesk.engine import Context, Definition, Result
from flowdesk.engine.document import load_document

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "app-release.yaml"
NOW = "2026-11-27T10:00:00Z"


class FakeDirectory:
    """Dict-based stand-in for the directory app (business roles, general roles, managers)."""

    def __init__(self) -> None:
        self.business_roles: dict[tuple[str, str], list[str]] = {
            ("product", "game-a"): ["pm_alice"],
            ("test", "game-a"): ["test_bob"],
            ("ops", "game-a"): ["ops_carol"],
            ("product", "game-b"): ["pm_dave"],
            ("test", "game-b"): ["test_erin"],
        }
        self.general_roles: dict[str, list[str]] = {"QC": ["qc_c"]}
        self.managers: dict[str, str] = {"pm_alice": "boss_bea"}
        self.extra_users = {"boss_bea", "ann", "ben", "cat", "dan", "eve", "owner_olga"}

    def business_role_members(self, role: str, business: str) -> list[str]:
        return list(self.business_roles.get((role, business), []))

    def general_role_members(self, role: str) -> list[str]:
        return list(self.general_roles.get(role, []))

    def manager_of(self, user: str) -> str | None:
        return self.managers.get(user)

    def existing_users(self, users: Iterable[str]) -> set[str]:
        return {user for user in users if user in self.all_users()}

    def all_users(self) -> set[str]:
        people = {user for members in self.business_roles.values() for user in members}
        people |= {user for members in self.general_roles.values() for user in members}
        return people | set(self.managers.values()) | self.extra_users


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory()


def make_ctx(
    directory: FakeDirectory | None = None,
    *,
    requester: str = "pm_alice",
    business: str | None = "game-a",
    now: str = NOW,
    service_owners: tuple[str, ...] = (),
) -> Context:
    return Context(
        now=now,
        requester=requester,
        business=business,
        directory=directory or FakeDirectory(),
        service_owners=service_owners,
    )


def load_example() -> dict:
    return load_document(EXAMPLE.read_text(encoding="utf-8"))


# --- building small workflows --------------------------------------------------------------


def users(*names: str) -> dict:
    return {"type": "users", "users": list(names)}


def workflow(
    nodes: list[dict],
    transitions: list[dict],
    fields: list[dict] | None = None,
    settings: dict | None = None,
    scope: str = "business",
) -> Definition:
    doc: dict[str, Any] = {
        "key": "test-flow",
        "name": "Test flow",
        "type": "change",
        "scope": scope,
        "fields": fields or [],
        "nodes": nodes,
        "transitions": transitions,
    }
    if settings:
        doc["settings"] = settings
    return Definition.from_document(doc)


def chain(*ids: str) -> list[dict]:
    return [{"from": a, "to": b} for a, b in zip(ids, ids[1:], strict=False)]


START = {"id": "submit", "type": "start", "name": "Submit"}
END = {"id": "done", "type": "end", "name": "Done"}


def task(node_id: str, *ops: dict, fields: tuple[str, ...] = (), **extra: Any) -> dict:
    return {
        "id": node_id,
        "type": "task",
        "name": node_id.replace("_", " ").title(),
        "operators": list(ops) or [users("ann")],
        "fields": list(fields),
        **extra,
    }


def approval(node_id: str, *ops: dict, fields: tuple[str, ...] = (), **settings: Any) -> dict:
    return {
        "id": node_id,
        "type": "approval",
        "name": node_id.replace("_", " ").title(),
        "operators": list(ops) or [users("ann")],
        "fields": list(fields),
        "approval": settings,
    }


def gateway(node_id: str, kind: str = "exclusive") -> dict:
    return {"id": node_id, "type": kind, "name": node_id}


def timer(node_id: str, *ops: dict, **settings: Any) -> dict:
    """A timer node; `settings` is its `timer` (default: wait 2h)."""
    return {
        "id": node_id,
        "type": "timer",
        "name": node_id.replace("_", " ").title(),
        "operators": list(ops),
        "timer": settings or {"after": "2h"},
    }


def automation(node_id: str, *ops: dict, fields: tuple[str, ...] = (), **settings: Any) -> dict:
    """An automation node; `settings` is its `automation` (default: a POST that goes on)."""
    return {
        "id": node_id,
        "type": "automation",
        "name": node_id.replace("_", " ").title(),
        "operators": list(ops),
        "fields": list(fields),
        "automation": settings or {"action": "http", "request": {"url": "https://ci.example/go"}},
    }


# --- driving a ticket -----------------------------------------------------------------------


class Ticket:
    """Runs engine actions on one ticket, keeping its state and checking the engine's promises
    on every step: the input state is not mutated and the new state survives JSON."""

    def __init__(self, defn: Definition, ctx: Context) -> None:
        self.defn = defn
        self.ctx = ctx
        self.state: dict = {}
        self.effects: list = []

    def start(self, actor: str = "pm_alice", **values: Any) -> Result:
        result = engine.start(self.defn, self.ctx, actor=actor, values=values)
        return self._take(result)

    def do(self, action: str, *, task: int | None = None, node: str | None = None, **kw: Any):
        if node is not None:
            task = self.task_at(node)
        before = copy.deepcopy(self.state)
        func = getattr(engine, action)
        args = {"task": task} if task is not None else {}
        result = func(self.defn, self.state, self.ctx, **args, **kw)
        assert self.state == before, "the engine mutated the state passed in"
        return self._take(result)

    def complete(self, node: str, actor: str, **values: Any) -> Result:
        return self.do("complete", node=node, actor=actor, values=values)

    def approve(self, node: str, actor: str, **values: Any) -> Result:
        task = self.task_of(node, actor)
        return self.do("approve", task=task, actor=actor, values=values)

    def reject(self, node: str, actor: str, **values: Any) -> Result:
        task = self.task_of(node, actor)
        return self.do("reject", task=task, actor=actor, values=values)

    def _take(self, result: Result) -> Result:
        assert json.loads(json.dumps(result.state)) == result.state
        for effect in result.effects:
            json.dumps(effect.to_json())
        self.state = result.state
        self.effects = result.effects
        return result

    # reading

    @property
    def tasks(self) -> dict[int, dict]:
        return engine.open_tasks(self.state)

    def task_at(self, node: str) -> int:
        ids = [task_id for task_id, record in self.tasks.items() if record["node"] == node]
        assert len(ids) == 1, f"expected one open task at {node}, found {ids}"
        return ids[0]

    def task_of(self, node: str, user: str) -> int:
        for task_id, record in self.tasks.items():
            mine = record["assignee"] == user or (
                record["assignee"] is None and user in record["candidates"]
            )
            if record["node"] == node and mine:
                return task_id
        raise AssertionError(f"{user} has no open task at {node}: {self.tasks}")

    @property
    def nodes(self) -> list[str]:
        return engine.current_nodes(self.state)

    def kinds(self) -> list[str]:
        return [effect.kind for effect in self.effects]

    def of(self, kind: type) -> list:
        return [effect for effect in self.effects if isinstance(effect, kind)]
