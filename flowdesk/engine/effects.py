"""What an action caused, for the caller to record (audit), notify and mirror (task rows)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


@dataclass(frozen=True)
class Effect:
    kind: ClassVar[str] = "effect"

    def to_json(self) -> dict:
        data: dict[str, Any] = {"kind": self.kind}
        for field in fields(self):
            data[field.name] = _plain(getattr(self, field.name))
        return data


@dataclass(frozen=True)
class TaskOpened(Effect):
    kind: ClassVar[str] = "task_opened"
    task: int
    node: str
    assignee: str | None
    candidates: tuple[str, ...]
    sources: tuple[dict, ...]
    claim: bool


@dataclass(frozen=True)
class TaskClosed(Effect):
    """outcome: completed, approved, rejected, returned, cancelled, withdrawn or terminated."""

    kind: ClassVar[str] = "task_closed"
    task: int
    node: str
    outcome: str
    by: str | None


@dataclass(frozen=True)
class NodeCompleted(Effect):
    kind: ClassVar[str] = "node_completed"
    node: str
    by: str | None
    values: dict
    changes: dict


@dataclass(frozen=True)
class NodeSkipped(Effect):
    kind: ClassVar[str] = "node_skipped"
    node: str
    reason: str


@dataclass(frozen=True)
class ApprovalDecided(Effect):
    kind: ClassVar[str] = "approval_decided"
    node: str
    result: str


@dataclass(frozen=True)
class Returned(Effect):
    kind: ClassVar[str] = "returned"
    from_node: str
    to_node: str
    by: str | None


@dataclass(frozen=True)
class AutomationFailed(Effect):
    """An automation step failed for good; `on_failure`: `wait` (its task stays open for the
    operators) or `return` (a `Returned` effect follows)."""

    kind: ClassVar[str] = "automation_failed"
    task: int
    node: str
    reason: str
    on_failure: str


@dataclass(frozen=True)
class TicketEnded(Effect):
    kind: ClassVar[str] = "ticket_ended"
    status: str
    reason: str


@dataclass(frozen=True)
class StatusChanged(Effect):
    kind: ClassVar[str] = "status_changed"
    old: str
    new: str
