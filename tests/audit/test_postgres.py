"""Real concurrency on PostgreSQL: appends from many connections never fork the chain."""

import pytest
from django.db import transaction

from flowdesk.api.actions import do_create_token
from flowdesk.audit.chain import verify_chain
from flowdesk.audit.models import AuditEntry
from flowdesk.audit.recording import record
from flowdesk.tickets import actions
from tests.tickets.test_postgres import THREADS, run_together
from tests.tickets.test_release_scenario import submit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROUNDS = 15


def test_concurrent_appends_keep_one_gap_free_chain(release_service, users):
    ticket = submit(release_service, users.pm_alice)
    before = AuditEntry.objects.count()

    def work(i: int) -> None:
        for n in range(ROUNDS):
            if n % 3 == 0:
                actions.do_comment_ticket(ticket, actor=users.pm_alice, text=f"{i}/{n}")
            elif n % 3 == 1:
                do_create_token(users.test_bob, name=f"{i}/{n}", actor=None)
            else:
                with transaction.atomic():  # two entries in one transaction stay adjacent
                    record("test.pair", actor=None, obj_type="test", obj_id=i, data={"n": n})
                    record("test.pair", actor=None, obj_type="test", obj_id=i, data={"n": n})

    run_together(work, range(THREADS))

    result = verify_chain()
    assert result.ok, result.broken
    per_thread = ROUNDS // 3 * (1 + 1 + 2)
    assert result.count == before + THREADS * per_thread
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert AuditEntry.objects.values("prev_hash").distinct().count() == len(seqs)  # no fork
    pairs = list(AuditEntry.objects.filter(action="test.pair").values_list("seq", "obj_id"))
    for (seq, obj), (next_seq, next_obj) in zip(pairs[::2], pairs[1::2], strict=True):
        assert (next_seq, next_obj) == (seq + 1, obj)


def test_the_first_appends_on_an_empty_log_race_safely(db):
    def work(i: int) -> None:
        with transaction.atomic():
            record("test.first", actor=None, obj_type="test", obj_id=i)

    run_together(work, range(THREADS))
    result = verify_chain()
    assert result.ok and result.count == THREADS
