"""The background worker: the task queue of the configured backend plus periodic sweeps.

`flowdesk worker` runs the django-tasks worker of the configured backend (database: the
django-tasks-db worker; redis: an RQ worker) in the main thread and, beside it, a ticker thread
that runs every registered sweep (due deliveries, due timers, automation polls) at start and
then every FLOWDESK_TICK_SECONDS. Each sweep claims its rows safely (leases, row locks,
conditional updates), so any number of workers may run at once, and work a dead worker left
behind is picked up by the next sweep.

Stopping (SIGTERM, Ctrl-C) sets `stopping`: loops that send or fire one item after another check
it between items, finish the item in hand, hand the rest back and return; the process exits
once the task in hand and the sweep in hand are done. A second signal stops at once.
"""

import logging
import secrets
import threading
from collections.abc import Callable
from datetime import timedelta

from django.db import close_old_connections, connections, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

log = logging.getLogger(__name__)

Sweep = Callable[[], int]
SWEEPS: dict[str, Sweep] = {}

# Set once this process is asked to stop; checked between items by long loops (see above).
stopping = threading.Event()


def lease_rows(due: QuerySet, *, order: str, limit: int, lease: timedelta) -> tuple[list, str]:
    """Lease up to `limit` rows of `due` that no worker holds (no lease, or an expired one) for
    this worker: (their ids, the lease token). The rows' model has `leased_until` and `lease`.

    On PostgreSQL, rows another worker is leasing right now are skipped (SKIP LOCKED); SQLite
    writes one at a time anyway. The update re-checks `due`, so a row that stopped being due
    between the pick and the lease is left alone."""
    now = timezone.now()
    token = secrets.token_hex(16)
    free = due.filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
    with transaction.atomic():
        ids = list(
            free.select_for_update(skip_locked=True)
            .order_by(order)
            .values_list("pk", flat=True)[:limit]
        )
        free.filter(pk__in=ids).update(leased_until=now + lease, lease=token)
    return ids, token


def register_sweep(name: str, sweep: Sweep) -> None:
    """Run `sweep` on every tick of every worker; it returns how many items it handled and must
    claim its rows so that several workers never handle one item twice."""
    SWEEPS[name] = sweep


def run_sweeps() -> dict[str, int]:
    """Run every sweep once; a failing sweep is logged and does not stop the others."""
    done = {}
    for name, sweep in SWEEPS.items():
        if stopping.is_set():
            break
        close_old_connections()
        try:
            done[name] = sweep()
        except Exception:
            log.exception("sweep %s failed", name)
    close_old_connections()
    return done


class Ticker(threading.Thread):
    """Runs the sweeps at start (a restarted worker picks up what a dead one left at once) and
    then every `interval` seconds, until the process stops."""

    def __init__(self, interval: float) -> None:
        super().__init__(name="flowdesk-ticker", daemon=True)
        self.interval = interval

    def run(self) -> None:
        log.info("sweeps every %g s: %s", self.interval, ", ".join(SWEEPS) or "none registered")
        try:
            while not stopping.is_set():
                done = run_sweeps()
                if worked := {name: count for name, count in done.items() if count}:
                    log.info("swept %s", ", ".join(f"{n}: {c}" for n, c in worked.items()))
                stopping.wait(self.interval)
        finally:
            connections.close_all()  # this thread's connections
