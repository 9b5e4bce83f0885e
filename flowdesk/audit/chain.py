"""Checking the hash chain: the whole log in bounded memory, or one object's entries."""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.utils import timezone

from flowdesk.audit.models import GENESIS_HASH, AuditEntry, ChainHead, iso_utc

CHUNK = 2000
# Only what the hash covers is read, so a large log streams through in small rows.
_HASHED = (
    "seq", "at", "actor_name", "source", "address", "obj_type", "obj_id", "label", "action",
    "data_json", "prev_hash", "hash",
)  # fmt: skip
_ANCHOR = re.compile(r"flowdesk-audit-anchor seq=(\d+) hash=([0-9a-f]{64})\b")


@dataclass(frozen=True)
class Break:
    """The first entry where the chain does not hold, and what is wrong there."""

    seq: int
    problem: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.problem}"


@dataclass(frozen=True)
class Verification:
    count: int
    head_seq: int
    head_hash: str
    broken: Break | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify_chain(anchor: str | None = None) -> Verification:
    """Walk the log from seq 1: every seq present, every prev_hash the previous entry's hash,
    every hash recomputed from the entry; the chain head's entry present (a deleted tail) and
    the anchor's, if given. Entries appended while it runs are checked too."""
    head = ChainHead.objects.filter(pk=1).values_list("seq", "hash").first() or (0, GENESIS_HASH)
    count, seq, prev = 0, 0, GENESIS_HASH
    rows = AuditEntry.objects.order_by("seq").values_list(*_HASHED).iterator(chunk_size=CHUNK)
    for entry in _entries(rows):
        broken = check_link(entry, seq, prev)
        if broken is None and (entry.seq, entry.hash) != head and entry.seq == head[0]:
            broken = Break(entry.seq, "hash differs from the one the chain head recorded")
        if broken is not None:
            return Verification(count, seq, prev, broken)
        count, seq, prev = count + 1, entry.seq, entry.hash
    if seq < head[0]:
        tail = Break(seq + 1, f"entries {seq + 1}–{head[0]} are missing at the tail")
        return Verification(count, seq, prev, tail)
    return Verification(count, seq, prev, check_anchor(anchor) if anchor else None)


def _entries(rows: Iterable[tuple]) -> Iterator[AuditEntry]:
    for row in rows:
        yield AuditEntry(**dict(zip(_HASHED, row, strict=True)))


def check_link(entry: AuditEntry, prev_seq: int, prev_hash: str) -> Break | None:
    """What is wrong with `entry` following the entry (prev_seq, prev_hash), if anything."""
    if entry.seq != prev_seq + 1:
        gap = f"{prev_seq + 1}" if entry.seq == prev_seq + 2 else f"{prev_seq + 1}–{entry.seq - 1}"
        return Break(entry.seq, f"gap in seq: entry {gap} is missing (deleted?)")
    if entry.prev_hash != prev_hash:
        return Break(entry.seq, f"prev_hash mismatch: not the hash of entry {prev_seq}")
    if entry.compute_hash() != entry.hash:
        return Break(entry.seq, "hash mismatch: the entry was changed after it was written")
    return None


def anchor_line() -> str:
    """The latest seq and hash with the time, as one line to keep outside this database."""
    head = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, hash_ = head or (0, GENESIS_HASH)
    return f"flowdesk-audit-anchor seq={seq} hash={hash_} at={iso_utc(timezone.now())}"


def check_anchor(anchor: str) -> Break | None:
    """The anchored entry must still be in the log with the same hash."""
    match = _ANCHOR.search(anchor)
    if match is None:
        raise ValueError("Not an anchor line: expected 'flowdesk-audit-anchor seq=N hash=H …'.")
    seq, hash_ = int(match[1]), match[2]
    if seq == 0:
        return None
    stored = AuditEntry.objects.filter(seq=seq).values_list("hash", flat=True).first()
    if stored is None:
        return Break(seq, "the anchored entry is missing: the log was truncated")
    if stored != hash_:
        return Break(seq, "hash differs from the anchor: the chain was rewritten")
    return None


def verify_entries(entries: list[AuditEntry]) -> list[Break]:
    """Check some entries (one ticket's, in seq order) against their own hash and their
    predecessors' in the global chain; the whole chain is `verify_chain`'s job."""
    previous = AuditEntry.objects.filter(seq__in=[e.seq - 1 for e in entries])
    before = {seq + 1: hash_ for seq, hash_ in previous.values_list("seq", "hash")}
    before[1] = GENESIS_HASH
    breaks = []
    for entry in entries:
        prev_hash = before.get(entry.seq)
        if prev_hash is None:
            breaks.append(Break(entry.seq, f"gap in seq: entry {entry.seq - 1} is missing"))
        elif (broken := check_link(entry, entry.seq - 1, prev_hash)) is not None:
            breaks.append(broken)
    return breaks
