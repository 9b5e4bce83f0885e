"""`--wait`: poll a ticket until it ends, reaches a node, or the time is up.

The exit statuses are the contract a pipeline relies on: 0 go on, 3 stop (rejected, withdrawn,
terminated), 4 timed out; errors (1) are raised as ApiError.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from flowdesk.client.http import ApiError, Client, backoff
from flowdesk.client.parsing import format_duration
from flowdesk.client.render import ENDED_BADLY, status_line

PROCEED, STOPPED, TIMED_OUT = 0, 3, 4
# Print the status at least this often even when nothing changed, so logs show we are alive.
HEARTBEAT = 60.0
# Keep retrying a server that fails or cannot be reached for this long before giving up.
MAX_OUTAGE = 15 * 60.0
MAX_RETRY_DELAY = 60.0


@dataclass(frozen=True)
class Wait:
    until_node: str | None = None
    timeout: float | None = None
    interval: float = 10.0


def outcome(ticket: dict, until_node: str | None) -> int | None:
    """The exit status the ticket's state decides, or None to keep waiting.

    An ended-badly ticket stops the pipeline even when it had passed `until_node` before.
    """
    if ticket["status"] in ENDED_BADLY:
        return STOPPED
    if ticket["status"] == "finished" or (until_node and reached(ticket, until_node)):
        return PROCEED
    return None


def reached(ticket: dict, node: str) -> bool:
    """The ticket waits at `node` now, or someone already acted there."""
    return any(n["id"] == node for n in ticket.get("current_nodes") or []) or any(
        s["node"] == node for s in ticket.get("snapshots") or []
    )


class _Outage:
    """A run of transient failures: how long to back off, and when to stop trying."""

    def __init__(self, interval: float, clock: Callable[[], float]) -> None:
        self.interval, self.clock = interval, clock
        self.since: float | None = None
        self.failures = 0

    def delay_after(self, exc: ApiError) -> float:
        """Seconds to wait before the next try; re-raises once it has lasted too long."""
        self.since = self.clock() if self.since is None else self.since
        if not exc.transient or self.clock() - self.since > MAX_OUTAGE:
            raise exc
        self.failures += 1
        return backoff(self.failures - 1, self.interval, max(self.interval, MAX_RETRY_DELAY))

    def over(self) -> None:
        self.since, self.failures = None, 0


def wait_for_ticket(
    client: Client,
    sn: str,
    wait: Wait,
    *,
    progress: Callable[[str], None],
    warn: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[int, dict | None]:
    """Poll until the outcome is known; (exit status, the last ticket seen)."""
    start = clock()
    deadline = None if wait.timeout is None else start + wait.timeout
    outage = _Outage(wait.interval, clock)
    ticket, shown, shown_at = None, None, start
    while True:
        try:
            ticket = client.get_ticket(sn, attempts=1)
        except ApiError as exc:
            delay = outage.delay_after(exc)
            warn(f"{sn}: {exc.detail} – retrying in {format_duration(delay)}")
        else:
            outage.over()
            delay, line, now = wait.interval, status_line(ticket), clock()
            code = outcome(ticket, wait.until_node)
            if code is not None or line != shown or now - shown_at >= HEARTBEAT:
                progress(f"{line} – {format_duration(now - start)}")
                shown, shown_at = line, now
            if code is not None:
                return code, ticket
        if deadline is not None and clock() >= deadline:
            return TIMED_OUT, ticket
        sleep(delay if deadline is None else max(0.0, min(delay, deadline - clock())))
