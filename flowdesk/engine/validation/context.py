"""The document under check (`Doc`): what the schema rejected, the problems found so far, the
directory asked for role and user names, and the lookups the rules share."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

from flowdesk.engine.definition import NODE_TYPES
from flowdesk.engine.fields import FIELD_TYPES

from .problems import Loc, one_of

_NEEDS = {
    "select": "options",
    "multiselect": "options",
    "checksum": "algorithm",
    "table": "columns",
}


class RoleCatalog(Protocol):
    """What the directory holds; passed at deploy time so that role and user names are checked.

    It may also have `calendars()` and `secrets()` (sets of names, or None when unknown): then
    the work calendars and server-side secrets a workflow names are checked too."""

    def business_roles(self) -> set[str]: ...

    def general_roles(self) -> set[str]: ...

    def users(self) -> set[str] | None:
        """Every username, or None when the directory cannot list them."""
        ...


@dataclass
class Doc:
    """The document under check, what the schema rejected, and the problems found so far."""

    data: dict
    bad: set[Loc]
    directory: RoleCatalog | None
    found: list[tuple[Loc, str]] = field(default_factory=list)
    asked: dict[str, set[str] | None] = field(default_factory=dict)

    def add(self, loc: Loc, message: str) -> None:
        self.found.append((loc, message))

    def sound(self, loc: Loc) -> bool:
        """Whether the schema found nothing wrong at or inside `loc`."""
        return not any(bad[: len(loc)] == loc for bad in self.bad)

    def items(self, key: str) -> list[tuple[int, dict]]:
        seq = self.data.get(key)
        if not isinstance(seq, list):
            return []
        return [(i, item) for i, item in enumerate(seq) if isinstance(item, dict)]

    @cached_property
    def fields(self) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for _, item in self.items("fields"):
            if isinstance(item.get("key"), str):
                found.setdefault(item["key"], item)
        return found

    @cached_property
    def sound_fields(self) -> dict[str, dict]:
        """The fields whose definitions passed the schema (safe to compare values with)."""
        found: dict[str, dict] = {}
        for i, item in self.items("fields"):
            key = item.get("key")
            first = isinstance(key, str) and self.fields.get(key) is item
            if first and definition_sound(self, ("fields", i), item):
                found[key] = item
        return found

    @cached_property
    def nodes(self) -> dict[str, tuple[int, dict]]:
        found: dict[str, tuple[int, dict]] = {}
        for i, item in self.items("nodes"):
            if isinstance(item.get("id"), str):
                found.setdefault(item["id"], (i, item))
        return found

    def kind(self, node_id: str) -> str | None:
        """The node's type; "" if its type is not valid, None if there is no such node."""
        entry = self.nodes.get(node_id)
        if entry is None:
            return None
        kind = entry[1].get("type")
        return kind if one_of(kind, NODE_TYPES) else ""

    def catalog(self, name: str) -> set[str] | None:
        """`business_roles`, `general_roles`, `users`, `calendars` or `secrets` of the
        directory (asked once each); None if there is no directory or it does not say."""
        if name not in self.asked:
            ask = getattr(self.directory, name, None)
            self.asked[name] = ask() if ask is not None else None
        return self.asked[name]


def note_duplicate(d: Doc, seen: dict, value: object, loc: Loc) -> None:
    """Report `value` (at `loc`, e.g. nodes[4].id) if an earlier item of the list has it."""
    if not isinstance(value, str):
        return
    if value in seen:
        d.add(loc, f"'{value}' is already used by {loc[-3]}[{seen[value]}]")
    else:
        seen[value] = loc[-2]


def definition_sound(d: Doc, loc: Loc, item: dict) -> bool:
    keys = ("key", "type", "options", "algorithm", "columns", "min", "max", "pattern")
    return one_of(item.get("type"), FIELD_TYPES) and all(d.sound((*loc, key)) for key in keys)


def definition_complete(item: dict) -> bool:
    """Whether a field has what its type needs (options, algorithm, columns)."""
    kind = item.get("type")
    need = _NEEDS.get(kind) if isinstance(kind, str) else None
    return need is None or need in item
