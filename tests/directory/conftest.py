"""Fixtures of the directory tests: set-up through the actions, and a record of the calls to
`flowdesk.tickets.candidates.membership_changed` (the real function still runs)."""

from dataclasses import dataclass

import pytest

from flowdesk.directory.actions import (
    do_add_role_member,
    do_save_business,
    do_save_role,
    do_save_user,
)
from flowdesk.directory.models import Role


@dataclass(frozen=True)
class Call:
    role: str
    business: str | None
    user: str
    added: bool


@pytest.fixture
def membership_calls(monkeypatch) -> list[Call]:
    """Each membership_changed call as Call(role key, business key, username, added)."""
    from flowdesk.tickets import candidates

    calls: list[Call] = []
    real = candidates.membership_changed

    def spy(*, role, business, user, added):
        calls.append(Call(role.key, business.key if business else None, user.username, added))
        return real(role=role, business=business, user=user, added=added)

    monkeypatch.setattr(candidates, "membership_changed", spy)
    return calls


@pytest.fixture
def make_user(db):
    def make(username: str, **fields):
        user, _changes = do_save_user(username, actor=None, **fields)
        return user

    return make


@pytest.fixture
def scenario(db, make_user):
    """Game A and B with product/ops/test, the general role QC, and their people."""
    games = {
        key: do_save_business(key, name=name, actor=None)[0]
        for key, name in [("game-a", "Game A"), ("game-b", "Game B")]
    }
    roles = {
        key: do_save_role(key, kind=kind, name=key.title(), actor=None)[0]
        for key, kind in [
            ("product", Role.Kind.BUSINESS),
            ("ops", Role.Kind.BUSINESS),
            ("test", Role.Kind.BUSINESS),
            ("QC", Role.Kind.GENERAL),
        ]
    }
    people = {
        name: make_user(name, email=f"{name}@example.com")
        for name in ["pm_alice", "test_bob", "ops_carol", "qc_c", "pm_dave"]
    }
    for role, user, business in [
        ("product", "pm_alice", "game-a"),
        ("test", "test_bob", "game-a"),
        ("ops", "ops_carol", "game-a"),
        ("ops", "ops_carol", "game-b"),
        ("product", "pm_dave", "game-b"),
    ]:
        do_add_role_member(roles[role], people[user], business=games[business], actor=None)
    do_add_role_member(roles["QC"], people["qc_c"], actor=None)
    return {"businesses": games, "roles": roles, "users": people}
