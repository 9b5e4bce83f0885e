"""The audit log: append-only entries, each holding the hash of the one before (see
docs/audit.md). Entries are written only by `flowdesk.audit.recording.record`."""

import hashlib
import json
from datetime import UTC, datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


class AuditEntry(models.Model):
    class Source(models.TextChoices):
        WEB = "web", _("web")
        API = "api", _("API")
        CLI = "cli", _("command line")
        SYSTEM = "system", _("system")

    # The position in the one global chain; gap-free, so a deleted row shows as a gap.
    seq = models.PositiveBigIntegerField(primary_key=True)
    at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as written: the user may be renamed or deleted later.
    actor_name = models.CharField(_("actor"), max_length=150)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    address = models.CharField(_("client address"), max_length=45, blank=True)
    obj_type = models.CharField(_("object type"), max_length=40)
    obj_id = models.CharField(_("object id"), max_length=150)
    label = models.CharField(_("object"), max_length=200)
    action = models.CharField(_("action"), max_length=60, db_index=True)
    # Canonical JSON text, hashed as stored: a JSON column may reformat numbers on the way back.
    data_json = models.TextField(default="{}")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["obj_type", "obj_id", "seq"], name="audit_object_idx")]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.label}"

    @property
    def data(self) -> object:
        return json.loads(self.data_json)

    def compute_hash(self) -> str:
        return entry_hash(
            seq=self.seq,
            at=self.at,
            actor_name=self.actor_name,
            source=self.source,
            address=self.address,
            obj=(self.obj_type, self.obj_id, self.label),
            action=self.action,
            data_json=self.data_json,
            prev_hash=self.prev_hash,
        )


class ChainHead(models.Model):
    """One row: the last entry's seq and hash. Appends lock it (SELECT … FOR UPDATE), so
    concurrent writers queue up instead of forking the chain."""

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"{self.seq} {self.hash}"


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(
    *,
    seq: int,
    at: datetime,
    actor_name: str,
    source: str,
    address: str,
    obj: tuple[str, str, str],
    action: str,
    data_json: str,
    prev_hash: str,
) -> str:
    """sha256 of the canonical JSON of everything an entry says, and the previous hash."""
    payload = {
        "seq": seq,
        "at": iso_utc(at),
        "actor": actor_name,
        "source": source,
        "address": address,
        "object": {"type": obj[0], "id": obj[1], "label": obj[2]},
        "action": action,
        "data": json.loads(data_json),
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()
