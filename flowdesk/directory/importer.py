"""Directory files: read a JSON or CSV file, check all of it, then apply it in one go.

`read_directory_file(text, fmt)` parses a file into entries that remember where each value came
from (`users[2].email`, `row 5.role`); `check_directory(data)` finds every problem against the
file and the database; `apply_directory(data, actor=...)` makes the database match, through the
directory actions, inside the caller's transaction, and reports each change. The formats are
described in docs/directory.md.
"""

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from flowdesk.directory.actions import (
    Actor,
    Changes,
    check_membership,
    do_save_business_nested,
    do_save_role_nested,
    do_save_user_nested,
    do_set_role_members_nested,
    validate_fields,
    validate_user_fields,
)
from flowdesk.directory.locks import hold_directory_exclusive
from flowdesk.directory.models import Business, Profile, Role

User = get_user_model()

USER_FIELDS = ("email", "display_name", "language", "manager", "is_active")
CLEARABLE_USER_FIELDS = frozenset({"email", "display_name", "manager"})
CSV_COLUMNS = (
    "username",
    "email",
    "display_name",
    "language",
    "manager",
    "is_active",
    "business",
    "business_name",
    "business_name_zh",
    "role",
    "role_name",
    "role_name_zh",
)
TRUE, FALSE = {"true", "yes", "1"}, {"false", "no", "0"}


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class Entry:
    """A user, business or role of the file: its key, the values given, and where each was."""

    key: str
    path: str
    values: dict[str, Any] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    kind_implied: bool = False  # CSV: a role's kind follows from its rows, it does not set it


@dataclass
class MembershipEntry:
    """The complete member list of one role (in one business, for a business role)."""

    role: str
    business: str | None
    path: str
    members: list[str] = field(default_factory=list)
    member_paths: list[str] = field(default_factory=list)


@dataclass
class DirectoryData:
    users: dict[str, Entry] = field(default_factory=dict)
    businesses: dict[str, Entry] = field(default_factory=dict)
    roles: dict[str, Entry] = field(default_factory=dict)
    memberships: dict[tuple[str, str | None], MembershipEntry] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        if not self.counts:
            return "no changes"
        c = self.counts
        return (
            f"users: {c['users created']} created, {c['users updated']} updated; "
            f"businesses: {c['businesses created']} created, {c['businesses updated']} updated; "
            f"roles: {c['roles created']} created, {c['roles updated']} updated; "
            f"members: {c['members added']} added, {c['members removed']} removed"
        )


# --- reading -----------------------------------------------------------------------------------


def read_directory_file(text: str, fmt: str) -> DirectoryData:
    """Parse JSON (`fmt="json"`) or CSV (`fmt="csv"`); problems are collected, not raised."""
    return _read_json(text) if fmt == "json" else _read_csv(text)


# JSON: section -> {key: (type, required)}; "str?" is a string, or null/"" to clear.
_JSON_SHAPE: dict[str, dict[str, tuple[str, bool]]] = {
    "users": {
        "username": ("str", True),
        "email": ("str?", False),
        "display_name": ("str?", False),
        "language": ("str", False),
        "manager": ("str?", False),
        "is_active": ("bool", False),
    },
    "businesses": {
        "key": ("str", True),
        "name": ("str", True),
        "name_zh": ("str?", False),
        "is_active": ("bool", False),
    },
    "roles": {
        "key": ("str", True),
        "kind": ("str", True),
        "name": ("str", True),
        "name_zh": ("str?", False),
    },
    "memberships": {
        "role": ("str", True),
        "business": ("str?", False),
        "members": ("list", True),
    },
}
_IDENTITY = {"users": "username", "businesses": "key", "roles": "key"}


def _read_json(text: str) -> DirectoryData:
    data = DirectoryData()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        data.problem("file", f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
        return data
    if not isinstance(document, dict):
        data.problem("file", f"must be an object with the lists {', '.join(_JSON_SHAPE)}")
        return data
    for section in document:
        if section not in _JSON_SHAPE:
            data.problem(section, f"unknown key; expected {', '.join(_JSON_SHAPE)}")
    for section, shape in _JSON_SHAPE.items():
        items = document.get(section, [])
        if not isinstance(items, list):
            data.problem(section, "must be a list")
            continue
        for index, item in enumerate(items):
            path = f"{section}[{index}]"
            values = _json_object(data, item, path, shape)
            if values is None:
                continue
            if section == "memberships":
                _json_membership(data, values, path)
                continue
            identity = _IDENTITY[section]
            key = values.pop(identity, None)
            if key is None:
                continue
            entries: dict[str, Entry] = getattr(data, section)
            if key in entries:
                data.problem(
                    f"{path}.{identity}", f"{key} is already listed at {entries[key].path}"
                )
                continue
            paths = {name: f"{path}.{name}" for name in [identity, *values]}
            entries[key] = Entry(key, path, values, paths)
    return data


def _json_object(
    data: DirectoryData, item: object, path: str, shape: dict[str, tuple[str, bool]]
) -> dict[str, Any] | None:
    """The item's values that have the right type; a problem for each that has not."""
    if not isinstance(item, dict):
        data.problem(path, "must be an object")
        return None
    values: dict[str, Any] = {}
    for name, value in item.items():
        if name not in shape:
            data.problem(f"{path}.{name}", f"unknown key; expected {', '.join(shape)}")
            continue
        kind = shape[name][0]
        if kind == "str?" and value is None:
            values[name] = ""
        elif kind in ("str", "str?") and not isinstance(value, str):
            data.problem(f"{path}.{name}", "must be a string")
        elif kind == "bool" and not isinstance(value, bool):
            data.problem(f"{path}.{name}", "must be true or false")
        elif kind == "list" and not isinstance(value, list):
            data.problem(f"{path}.{name}", "must be a list of usernames")
        else:
            values[name] = value
    for name, (_kind, required) in shape.items():
        if required and name not in item:
            data.problem(f"{path}.{name}", "This field is required.")
    return values


def _json_membership(data: DirectoryData, values: dict[str, Any], path: str) -> None:
    if "role" not in values or "members" not in values:
        return
    business = values.get("business") or None
    pair = (values["role"], business)
    if pair in data.memberships:
        data.problem(path, f"{_where(*pair)} is already listed at {data.memberships[pair].path}")
        return
    entry = data.memberships[pair] = MembershipEntry(values["role"], business, path)
    for index, member in enumerate(values["members"]):
        member_path = f"{path}.members[{index}]"
        if not isinstance(member, str):
            data.problem(member_path, "must be a username (a string)")
        elif member in entry.members:
            data.problem(member_path, f"{member} is listed twice")
        else:
            entry.members.append(member)
            entry.member_paths.append(member_path)


def _read_csv(text: str) -> DirectoryData:
    data = DirectoryData()
    reader = csv.reader(io.StringIO(text))
    header = [name.strip() for name in next(reader, [])]
    if not header:
        data.problem("header", f"the file is empty; expected a header row: {','.join(CSV_COLUMNS)}")
        return data
    for index, name in enumerate(header):
        if name not in CSV_COLUMNS:
            data.problem("header", f"unknown column {name!r}; expected {', '.join(CSV_COLUMNS)}")
        elif name in header[:index]:
            data.problem("header", f"column {name!r} appears twice")
    if "username" not in header:
        data.problem("header", "the username column is required")
    if data.problems:
        return data
    for cells in reader:
        path = f"row {reader.line_num}"
        if len(cells) > len(header):
            data.problem(path, f"{len(cells)} cells, but the header has {len(header)} columns")
            continue
        row = {name: "" for name in CSV_COLUMNS} | {
            name: cell.strip() for name, cell in zip(header, cells, strict=False)
        }
        if any(row.values()):
            _csv_row(data, row, path)
    for entry in data.users.values():  # a column left empty in all of a user's rows clears
        for name in CLEARABLE_USER_FIELDS & set(header) - set(entry.values):
            entry.values[name] = ""
            entry.paths[name] = f"{entry.path}.{name}"
    return data


def _csv_row(data: DirectoryData, row: dict[str, str], path: str) -> None:
    username, business, role = row["username"], row["business"], row["role"]
    if not username:
        data.problem(f"{path}.username", "This field is required.")
        return
    user = data.users.setdefault(username, Entry(username, path))
    user.paths.setdefault("username", f"{path}.username")
    for name in USER_FIELDS:
        value: Any = row[name]
        if name == "is_active" and value:
            if value.lower() not in TRUE | FALSE:
                data.problem(f"{path}.is_active", "must be true or false (or yes/no, 1/0)")
                continue
            value = value.lower() in TRUE
        _merge(data, user, name, value, f"{path}.{name}")
    if business and not role:
        data.problem(f"{path}.role", "This field is required when business is given.")
        return
    if not role:
        return
    kind = Role.Kind.BUSINESS if business else Role.Kind.GENERAL
    entry = data.roles.setdefault(role, Entry(role, path, kind_implied=True))
    if entry.values.setdefault("kind", kind) != kind:
        first = entry.paths["kind"].split(".")[0]
        data.problem(
            f"{path}.business",
            f"{role} is a general role (no business at {first}): leave business empty"
            if business
            else f"{role} is a business role (business given at {first}): give a business",
        )
        return
    entry.paths.setdefault("kind", f"{path}.business")
    entry.paths.setdefault("key", f"{path}.role")
    _merge(data, entry, "name", row["role_name"], f"{path}.role_name")
    _merge(data, entry, "name_zh", row["role_name_zh"], f"{path}.role_name_zh")
    if business:
        place = data.businesses.setdefault(business, Entry(business, path))
        place.paths.setdefault("key", f"{path}.business")
        _merge(data, place, "name", row["business_name"], f"{path}.business_name")
        _merge(data, place, "name_zh", row["business_name_zh"], f"{path}.business_name_zh")
    pair = (role, business or None)
    members = data.memberships.setdefault(pair, MembershipEntry(role, business or None, path))
    if username in members.members:
        first = members.member_paths[members.members.index(username)].split(".")[0]
        data.problem(path, f"{username} already holds {_where(*pair)} at {first}")
        return
    members.members.append(username)
    members.member_paths.append(f"{path}.username")


def _merge(data: DirectoryData, entry: Entry, name: str, value: Any, path: str) -> None:
    """Take a non-empty CSV value; the rows of one user, role or business must agree."""
    if value == "":
        return
    if name in entry.values and entry.values[name] != value:
        data.problem(path, f"{value!r} differs from {entry.values[name]!r} at {entry.paths[name]}")
        return
    entry.values[name] = value
    entry.paths.setdefault(name, path)


# --- checking ----------------------------------------------------------------------------------


def check_directory(data: DirectoryData) -> list[Problem]:
    """Every problem of the file, including those only the database shows (unknown users,
    roles and businesses, kinds, manager cycles). An empty list means it can be applied."""
    problems = list(data.problems)

    def report(entry: Entry, exc: ValidationError) -> None:
        for name, messages in exc.message_dict.items():
            problems.extend(Problem(entry.paths.get(name, entry.path), m) for m in messages)

    existing_roles = {r.key: r for r in Role.objects.filter(key__in=_role_keys(data))}
    existing_businesses = set(
        Business.objects.filter(key__in=_business_keys(data)).values_list("key", flat=True)
    )
    existing_users = set(
        User.objects.filter(username__in=_usernames(data)).values_list("username", flat=True)
    )
    known_users = existing_users | set(data.users)

    for entry in data.users.values():
        values = {k: v for k, v in entry.values.items() if k != "manager"}
        try:
            validate_user_fields({"username": entry.key, **values})
        except ValidationError as exc:
            report(entry, exc)
        manager = entry.values.get("manager")
        if manager and manager not in known_users:
            problems.append(Problem(entry.paths["manager"], f"No user named {manager!r}."))
    for entry in data.businesses.values():
        try:
            validate_fields(Business, {"key": entry.key, **entry.values})
        except ValidationError as exc:
            report(entry, exc)
    for entry in data.roles.values():
        try:
            validate_fields(Role, {"key": entry.key, **entry.values})
        except ValidationError as exc:
            report(entry, exc)
        role, kind = existing_roles.get(entry.key), entry.values.get("kind")
        if role is None or role.kind == kind:
            continue
        if entry.kind_implied:
            problems.append(
                Problem(entry.paths["kind"], _membership_problem(role, kind == Role.Kind.BUSINESS))
            )
        elif role.memberships.exists():
            problems.append(
                Problem(
                    entry.paths["kind"],
                    f"{role.key} has members as a {role.get_kind_display()}; remove them first.",
                )
            )
    for members in data.memberships.values():
        problems.extend(_check_membership(data, members, existing_roles, existing_businesses))
        problems.extend(
            Problem(path, f"No user named {name!r}.")
            for name, path in zip(members.members, members.member_paths, strict=True)
            if name not in known_users
        )
    problems.extend(_manager_cycles(data))
    return problems


def _check_membership(
    data: DirectoryData,
    members: MembershipEntry,
    existing_roles: dict[str, Role],
    existing_businesses: set[str],
) -> list[Problem]:
    if members.role in data.roles:
        kind = data.roles[members.role].values.get("kind")
    elif members.role in existing_roles:
        kind = existing_roles[members.role].kind
    else:
        return [Problem(f"{members.path}.role", f"No role named {members.role!r}.")]
    if members.business is not None and members.business not in (
        existing_businesses | set(data.businesses)
    ):
        return [Problem(f"{members.path}.business", f"No business named {members.business!r}.")]
    if kind not in Role.Kind.values or data.roles.get(members.role, Entry("", "")).kind_implied:
        return []  # a bad kind is reported on the role; CSV rows imply a consistent kind
    if (kind == Role.Kind.BUSINESS) != (members.business is not None):
        return [
            Problem(
                f"{members.path}.business",
                _membership_problem(
                    Role(key=members.role, kind=kind), members.business is not None
                ),
            )
        ]
    return []


def _membership_problem(role: Role, has_business: bool) -> str:
    try:
        check_membership(role, Business() if has_business else None)
    except ValidationError as exc:
        return exc.message_dict["business"][0]
    return ""


def _manager_cycles(data: DirectoryData) -> list[Problem]:
    graph = _final_managers(data)
    problems = []
    for entry in data.users.values():
        if not entry.values.get("manager"):
            continue
        chain, current = [entry.key], graph.get(entry.key)
        while current is not None and current not in chain:
            chain.append(current)
            current = graph.get(current)
        if current == entry.key and len(chain) == 1:
            problems.append(Problem(entry.paths["manager"], "A user cannot be their own manager."))
        elif current == entry.key:
            cycle = " → ".join([*chain, entry.key])
            problems.append(Problem(entry.paths["manager"], f"That would make a cycle: {cycle}."))
    return problems


def _final_managers(data: DirectoryData) -> dict[str, str]:
    """username → manager's username, as it will be after the import."""
    graph = dict(
        Profile.objects.filter(manager__isnull=False).values_list(
            "user__username", "manager__username"
        )
    )
    for entry in data.users.values():
        if "manager" in entry.values:
            if entry.values["manager"]:
                graph[entry.key] = entry.values["manager"]
            else:
                graph.pop(entry.key, None)
    return graph


def _usernames(data: DirectoryData) -> set[str]:
    names = set(data.users)
    names.update(e.values["manager"] for e in data.users.values() if e.values.get("manager"))
    for members in data.memberships.values():
        names.update(members.members)
    return names


def _role_keys(data: DirectoryData) -> set[str]:
    return set(data.roles) | {members.role for members in data.memberships.values()}


def _business_keys(data: DirectoryData) -> set[str]:
    return set(data.businesses) | {m.business for m in data.memberships.values() if m.business}


# --- applying ----------------------------------------------------------------------------------


def apply_directory(data: DirectoryData, *, actor: Actor) -> Report:
    """Make the database match a checked file; call inside a transaction."""
    hold_directory_exclusive()  # memberships change after other entries (locks.py)
    report = Report()
    businesses = {b.key: b for b in Business.objects.filter(key__in=_business_keys(data))}
    for key, entry in sorted(data.businesses.items()):
        current = businesses.get(key)
        business, changes = do_save_business_nested(
            key,
            name=entry.values.get("name") or (current.name if current else key),
            name_zh=_kept(entry, "name_zh", current),
            is_active=entry.values.get("is_active"),
            actor=actor,
        )
        businesses[key] = business
        _report(report, "business", "businesses", key, changes)
    roles = {r.key: r for r in Role.objects.filter(key__in=_role_keys(data))}
    for key, entry in sorted(data.roles.items()):
        current = roles.get(key)
        role, changes = do_save_role_nested(
            key,
            kind=current.kind if current and entry.kind_implied else entry.values["kind"],
            name=entry.values.get("name") or (current.name if current else key),
            name_zh=_kept(entry, "name_zh", current),
            actor=actor,
        )
        roles[key] = role
        _report(report, "role", "roles", key, changes)
    graph = _final_managers(data)
    for key in sorted(data.users, key=lambda name: (_depth(graph, name), name)):
        _user, changes = do_save_user_nested(key, **data.users[key].values, actor=actor)
        _report(report, "user", "users", key, changes)
    users = {u.get_username(): u for u in User.objects.filter(username__in=_usernames(data))}
    for (role_key, business_key), entry in sorted(
        data.memberships.items(), key=lambda item: (item[0][0], item[0][1] or "")
    ):
        business = businesses[business_key] if business_key else None
        added, removed = do_set_role_members_nested(
            roles[role_key], [users[name] for name in entry.members], business=business, actor=actor
        )
        where = _where(role_key, business_key)
        for user in removed:
            report.lines.append(f"removed {user.get_username()} from {where}")
        for user in added:
            report.lines.append(f"added {user.get_username()} to {where}")
        report.counts.update({"members added": len(added), "members removed": len(removed)})
    report.counts = +report.counts  # drop zero counts
    return report


def _kept(entry: Entry, name: str, current: object) -> str:
    if name in entry.values:
        return entry.values[name]
    return getattr(current, name) if current is not None else ""


def _depth(graph: dict[str, str], name: str) -> int:
    """How many managers are above the user; managers are saved before their reports."""
    depth, seen = 0, {name}
    while (name := graph.get(name)) is not None and name not in seen:
        seen.add(name)
        depth += 1
    return depth


def _report(report: Report, noun: str, plural: str, key: str, changes: Changes) -> None:
    if not changes:
        return
    if "username" in changes or "key" in changes:  # only a new one "changes" its key
        report.lines.append(f"created {noun} {key}")
        report.counts[f"{plural} created"] += 1
        return
    details = ", ".join(
        f"{name} {_show(old)} → {_show(new)}" for name, (old, new) in changes.items()
    )
    report.lines.append(f"updated {noun} {key}: {details}")
    report.counts[f"{plural} updated"] += 1


def _show(value: object) -> str:
    if value in (None, ""):
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _where(role: str, business: str | None) -> str:
    return f"{role} @ {business}" if business else role
