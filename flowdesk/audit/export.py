"""Audit entries as CSV or JSON, streamed: an export of a large log needs little memory."""

import csv
import json
from collections.abc import Iterator

from django.db.models import QuerySet

from flowdesk.audit.models import AuditEntry, iso_utc

FORMATS = ("csv", "json")
COLUMNS = (
    "seq", "at", "actor", "source", "address", "object_type", "object_id", "object", "action",
    "data", "prev_hash", "hash",
)  # fmt: skip
CHUNK = 2000


def row(entry: AuditEntry) -> dict:
    return {
        "seq": entry.seq,
        "at": iso_utc(entry.at),
        "actor": entry.actor_name,
        "source": entry.source,
        "address": entry.address,
        "object_type": entry.obj_type,
        "object_id": entry.obj_id,
        "object": entry.label,
        "action": entry.action,
        "data": entry.data,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def export_lines(entries: QuerySet[AuditEntry], fmt: str) -> Iterator[str]:
    """The export, piece by piece: CSV rows (data as JSON text) or one JSON array."""
    rows = (row(e) for e in entries.order_by("seq").iterator(chunk_size=CHUNK))
    return _csv(rows) if fmt == "csv" else _json(rows)


class _Line:
    """A file for csv.writer that hands each written row back instead of keeping it."""

    def write(self, value: str) -> str:
        return value


def _csv(rows: Iterator[dict]) -> Iterator[str]:
    writer = csv.DictWriter(_Line(), fieldnames=COLUMNS)
    yield writer.writeheader()
    for item in rows:
        item["data"] = json.dumps(item["data"], ensure_ascii=False, sort_keys=True)
        yield writer.writerow(item)


def _json(rows: Iterator[dict]) -> Iterator[str]:
    yield "["
    for i, item in enumerate(rows):
        yield ("," if i else "") + "\n" + json.dumps(item, ensure_ascii=False, sort_keys=True)
    yield "\n]\n"
