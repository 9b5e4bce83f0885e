"""The per-ticket compliance report, read from the ticket's audit entries (the hash-chained
record), not from the ticket's current state."""

from dataclasses import dataclass
from datetime import datetime

from flowdesk.audit.chain import Break, verify_entries
from flowdesk.audit.models import AuditEntry
from flowdesk.tickets.models import Ticket

# Field types that identify what is released: where the package is, and its checksum.
PACKAGE_FIELD_TYPES = ("url", "checksum")


@dataclass(frozen=True)
class PackageValue:
    """A package URL or checksum as entered: which field, the value, who, when, which entry."""

    key: str
    value: object
    by: str
    at: datetime
    seq: int


@dataclass(frozen=True)
class Step:
    """One audit entry of the ticket: `kind` as in its history (submitted, approved, ...)."""

    entry: AuditEntry
    kind: str
    data: dict


@dataclass(frozen=True)
class TicketReport:
    ticket: Ticket
    steps: list[Step]
    package: list[PackageValue]
    pinned: dict  # the workflow version the submit entry recorded
    breaks: list[Break]

    @property
    def version_matches(self) -> bool:
        """The recorded version is the one the ticket runs on (number and document checksum);
        a ticket submitted before the audit log existed has none recorded."""
        if not self.pinned:
            return True
        version = self.ticket.version
        recorded = (self.pinned.get("version"), self.pinned.get("version_checksum"))
        return recorded == (version.number, version.checksum)

    @property
    def checks(self) -> list[Step]:
        """The checksum checks of automation steps: which package, which digests, the result
        (also when a person skipped or completed the step after a mismatch)."""
        return [s for s in self.steps if (s.data.get("automation") or {}).get("result")]


def ticket_report(ticket: Ticket) -> TicketReport:
    entries = list(AuditEntry.objects.filter(obj_type="ticket", obj_id=ticket.sn).order_by("seq"))
    steps = [Step(e, e.action.removeprefix("ticket."), e.data) for e in entries]
    return TicketReport(
        ticket=ticket,
        steps=steps,
        package=_package_values(ticket, steps),
        pinned=next((s.data for s in steps if s.kind == "submitted"), {}),
        breaks=verify_entries(entries),
    )


def _package_values(ticket: Ticket, steps: list[Step]) -> list[PackageValue]:
    """Each url/checksum value when it was first entered or changed."""
    fields = ticket.version.definition.fields
    keys = [k for k, field in fields.items() if field.get("type") in PACKAGE_FIELD_TYPES]
    current: dict[str, object] = {}
    found = []
    for step in steps:
        values = step.data.get("values") or {}
        for key in keys:
            if key in values and values[key] != current.get(key):
                current[key] = values[key]
                entry = step.entry
                found.append(PackageValue(key, values[key], entry.actor_name, entry.at, entry.seq))
    return found
