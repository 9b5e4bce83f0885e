"""`flowdesk audit verify` and `anchor`: an intact busy log passes; an edit, a deletion or a
truncation done directly in SQL is named."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from flowdesk.audit import chain
from flowdesk.audit.chain import verify_chain
from flowdesk.audit.models import AuditEntry, ChainHead
from flowdesk.tickets import actions
from tests.tickets.test_release_scenario import submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy(release_service, users) -> int:
    """Hundreds of entries: the demo, a ticket and 200 comments on it."""
    ticket = submit(release_service, users.pm_alice)
    for i in range(200):
        actions.do_comment_ticket(ticket, actor=users.pm_alice, text=f"Comment {i}")
    return AuditEntry.objects.count()


def audit(*args: str) -> str:
    out = io.StringIO()
    call_command("audit", *args, stdout=out)
    return out.getvalue()


def verify(*args: str) -> str:
    return audit("verify", *args)


def verify_fails(*args: str) -> str:
    with pytest.raises(CommandError) as caught:
        verify(*args)
    assert caught.value.returncode == 1
    return str(caught.value)


def sql(statement: str, *params: object) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_a_busy_log_verifies_in_chunks(busy, monkeypatch):
    monkeypatch.setattr(chain, "CHUNK", 50)  # many chunks, as for a large log
    head = AuditEntry.objects.order_by("-seq").first()
    assert busy > 200
    assert verify() == f"{busy} entries, chain intact, head {head.hash}\n"


def test_an_edited_row_is_named(busy):
    seq = AuditEntry.objects.get(data_json__contains='"Comment 7"').seq
    sql(
        "UPDATE audit_auditentry SET data_json = replace(data_json, 'Comment 7', 'Comment 8')"
        " WHERE seq = %s",
        seq,
    )
    assert f"entry {seq}: hash mismatch" in verify_fails()


def test_an_edited_actor_is_named(busy):
    sql("UPDATE audit_auditentry SET actor_name = 'ops_carol' WHERE seq = %s", 40)
    assert "entry 40: hash mismatch" in verify_fails()


def test_a_deleted_row_is_named(busy):
    sql("DELETE FROM audit_auditentry WHERE seq = %s", 100)
    assert "entry 101: gap in seq: entry 100 is missing" in verify_fails()


def test_a_changed_prev_hash_is_named(busy):
    sql("UPDATE audit_auditentry SET prev_hash = %s WHERE seq = %s", "f" * 64, 55)
    assert "entry 55: prev_hash mismatch" in verify_fails()


def test_a_rewritten_entry_with_a_fresh_hash_breaks_the_next_link(busy):
    entry = AuditEntry.objects.get(seq=60)
    entry.actor_name = "someone else"
    sql(
        "UPDATE audit_auditentry SET actor_name = %s, hash = %s WHERE seq = 60",
        entry.actor_name,
        entry.compute_hash(),
    )
    assert "entry 61: prev_hash mismatch" in verify_fails()


def test_a_deleted_tail_is_caught_by_the_chain_head(busy):
    sql("DELETE FROM audit_auditentry WHERE seq > %s", busy - 5)
    assert f"entries {busy - 4}–{busy} are missing at the tail" in verify_fails()


def test_an_anchor_catches_a_tail_truncated_with_the_head_rewritten(busy):
    anchor = audit("anchor").strip()
    head = AuditEntry.objects.order_by("-seq").first()
    assert anchor.startswith(f"flowdesk-audit-anchor seq={busy} hash={head.hash} at=")
    assert verify("--anchor", anchor).endswith(
        "chain intact and the anchor, head " + head.hash + "\n"
    )

    # An attacker with database access deletes the last entries and fixes the chain head.
    sql("DELETE FROM audit_auditentry WHERE seq > %s", busy - 3)
    last = AuditEntry.objects.order_by("-seq").first()
    ChainHead.objects.update(seq=last.seq, hash=last.hash)
    assert verify_chain().ok  # the chain alone cannot tell
    assert f"entry {busy}: the anchored entry is missing" in verify_fails("--anchor", anchor)


def test_an_anchor_catches_a_rewritten_chain(busy):
    anchor = chain.anchor_line()
    # Rewrite entry 10 and recompute every hash after it: a consistent, forged chain.
    prev = AuditEntry.objects.get(seq=9).hash
    for entry in AuditEntry.objects.filter(seq__gte=10).order_by("seq"):
        if entry.seq == 10:
            entry.actor_name = "forger"
        entry.prev_hash = prev
        entry.hash = prev = entry.compute_hash()
        sql(
            "UPDATE audit_auditentry SET actor_name = %s, prev_hash = %s, hash = %s WHERE seq = %s",
            entry.actor_name,
            entry.prev_hash,
            entry.hash,
            entry.seq,
        )
    ChainHead.objects.update(hash=prev)
    assert verify_chain().ok
    assert "hash differs from the anchor" in verify_fails("--anchor", anchor)


def test_a_malformed_anchor_is_a_usage_error(busy):
    with pytest.raises(CommandError) as caught:
        verify("--anchor", "seq=3")
    assert caught.value.returncode == 2 and "Not an anchor line" in str(caught.value)


def test_an_empty_log_verifies(db):
    assert verify() == f"0 entries, chain intact, head {'0' * 64}\n"
