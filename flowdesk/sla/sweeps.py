"""The worker's "timers" sweep (registered in SlaConfig.ready): fire every due timer.

Any number of workers may sweep at once. Candidates are picked with `FOR UPDATE SKIP LOCKED`
(PostgreSQL), so a worker passes over timers another worker is firing right now; whether a
timer fires at all is decided by `do_fire_timer` under the ticket's lock, so even two workers
that pick the same timer fire it once.
"""

import logging

from django.db import transaction
from django.utils import timezone

from flowdesk.sla.actions import do_fire_timer
from flowdesk.sla.models import Timer

log = logging.getLogger(__name__)

BATCH = 100


def fire_due() -> int:
    """Fire the due timers, oldest first, each in its own transaction; returns how many fired.
    A timer whose firing fails is logged and tried again at the next sweep."""
    fired, tried = 0, set()
    while True:
        batch = _pick(exclude=tried)
        for timer in batch:
            tried.add(timer.pk)
            try:
                fired += do_fire_timer(timer)
            except Exception:  # one broken timer must not stop the others
                log.exception("timer %s could not fire", timer.pk)
        if len(batch) < BATCH:
            return fired


def _pick(exclude: set[int]) -> list[Timer]:
    due = Timer.objects.filter(status=Timer.Status.PENDING, due_at__lte=timezone.now())
    with transaction.atomic():
        return list(
            due.exclude(pk__in=exclude)
            .select_for_update(skip_locked=True)
            .order_by("due_at", "pk")
            .only("pk", "ticket_id")[:BATCH]
        )
