"""Errors the engine raises; each carries a short `code` and a sentence a user understands."""

from __future__ import annotations


class EngineError(Exception):
    """Base class: the action is refused and nothing changes."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class DefinitionError(EngineError):
    """The workflow document cannot be understood (it should have failed validation)."""

    code = "definition"

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.detail = message


class InvalidValues(EngineError):
    """Submitted field values are wrong; `errors` maps field keys to messages."""

    code = "invalid"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        parts = [f"{key}: {' '.join(messages)}" for key, messages in errors.items()]
        super().__init__("Please correct the values. " + " ".join(parts))
        self.errors = errors


class TaskNotOpen(EngineError):
    """The task was closed meanwhile (someone else acted first) or never existed."""

    code = "conflict"

    def __init__(
        self, task: int, by: str | None = None, at: str | None = None, outcome: str | None = None
    ) -> None:
        super().__init__(_closed_message(by, at, outcome))
        self.task = task
        self.by = by
        self.at = at
        self.outcome = outcome


def _closed_message(by: str | None, at: str | None, outcome: str | None) -> str:
    if outcome == "unknown":
        return "This ticket has no such task."
    if at is None:
        return "This task is no longer open."
    if outcome in {"completed", "approved", "rejected", "returned"} and by:
        return f"This task was already handled by {by} at {at}."
    if outcome == "withdrawn":
        return f"This task was closed at {at}: the requester withdrew the ticket."
    if outcome == "terminated":
        return f"This task was closed at {at}: the ticket was terminated."
    who = f" by an action of {by}" if by else ""
    return f"This task was cancelled at {at}{who}."


class NotRunning(EngineError):
    """The ticket's status does not allow the action."""

    code = "conflict"

    def __init__(self, status: str, message: str | None = None) -> None:
        if message is None:
            if status == "suspended":
                message = "The ticket is suspended."
            else:
                message = f"The ticket is {status}; nothing can be done on it."
        super().__init__(message)
        self.status = status


class NotAllowed(EngineError):
    """The action does not fit the step, the settings or the actor."""

    code = "forbidden"


class SeparationOfDuties(NotAllowed):
    """The actor handled a step this one must be kept apart from, or is the requester voting
    on their own ticket (an admin may override with a reason)."""

    code = "separation_of_duties"


class NoOperator(EngineError):
    """A step that the action reaches resolves to nobody and the policy is `fail`."""

    code = "no_operator"

    def __init__(self, node_id: str, node_name: str, detail: str) -> None:
        super().__init__(
            f"Nobody can handle step '{node_name}': {detail}. Ask an administrator to add members."
        )
        self.node_id = node_id
        self.node_name = node_name
        self.detail = detail


class InvalidTarget(EngineError):
    """A return names a step the ticket cannot go back to."""

    code = "invalid"


class Stuck(EngineError):
    """The action would leave a running ticket with no open task (a malformed workflow)."""

    code = "stuck"
