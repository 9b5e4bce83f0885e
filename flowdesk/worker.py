"""The background worker's ticker: periodic sweeps that apps register (due deliveries, due
timers, automation polls).

`flowdesk worker` runs the django-tasks worker of the configured backend and, beside it, a
ticker thread that runs every sweep every FLOWDESK_TICK_SECONDS. Each sweep claims its rows
safely (leases, row locks, conditional updates), so any number of workers may run at once, and
work a dead worker left behind is picked up by the next sweep.
"""

import logging
import threading
from collections.abc import Callable

from django.db import close_old_connections

log = logging.getLogger(__name__)

Sweep = Callable[[], int]
SWEEPS: dict[str, Sweep] = {}


def register_sweep(name: str, sweep: Sweep) -> None:
    SWEEPS[name] = sweep


def run_sweeps() -> dict[str, int]:
    """Run every sweep once; a failing sweep is logged and does not stop the others."""
    done = {}
    for name, sweep in SWEEPS.items():
        close_old_connections()
        try:
            done[name] = sweep()
        except Exception:
            log.exception("sweep %s failed", name)
    close_old_connections()
    return done


class Ticker(threading.Thread):
    def __init__(self, interval: float) -> None:
        super().__init__(name="flowdesk-ticker", daemon=True)
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            run_sweeps()

    def stop(self) -> None:
        self.stopped.set()
