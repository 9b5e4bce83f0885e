"""Two `flowdesk worker` processes sweeping the same timers: every timer step, SLA warning and
SLA breach fires exactly once (once in each ticket's history), and each message it causes
reaches the mail server once."""

from collections import Counter

import pytest

from .conftest import Inbox, Site, Workers, wait_until
from .driver import FIRED_EVENTS

pytestmark = pytest.mark.slow  # real processes: seconds each, and a migrated database

TICKETS = 20


def test_two_workers_fire_every_timer_and_escalation_once(
    site: Site, inbox: Inbox, workers: Workers, backend: dict[str, str]
):
    env = {**inbox.env, **backend}
    pair = [workers.start(name, **env, FLOWDESK_EMAIL_FROM=f"{name}@example.com") for name in "ab"]
    for worker in pair:
        worker.wait_ready()
    titles = site.driver("timed-tickets", str(TICKETS), "timed", env=backend)
    everything = {f"{title} {kind}" for title in titles for kind in FIRED_EVENTS}

    def all_fired() -> bool:
        state = site.driver("fired")
        return state["waiting"] == 0 and set(state["events"]) == everything

    wait_until(
        all_fired, 120, "every timer to fire", lambda: f"{site.driver('fired')}\n{workers.logs()}"
    )
    assert site.driver("fired")["events"] == dict.fromkeys(everything, 1)
    # Which of the two sweeps fires a given timer is a race (one may take every timer of a tick),
    # so the test asserts the guarantee, not a share: both were sweeping, and each fired once.
    assert all(worker.process.poll() is None for worker in pair), workers.logs()

    rows = site.driver("deliveries")
    breaches = [key for key in rows if ":sla_breach:" in key]
    assert len(breaches) == 2 * TICKETS  # the step's handler and the escalation, once each
    wait_until(
        lambda: set(inbox.keys()) == set(rows),
        60,
        "every message",
        lambda: f"{set(rows) ^ set(inbox.keys())} differ; not sent:\n{site.unsent()}",
    )
    wait_until(lambda: site.sent() == set(rows), 30, "every message recorded", site.unsent)
    assert Counter(inbox.keys()) == Counter(rows.keys())
    senders = Counter(message["From"].addresses[0].username for message in inbox.messages)
    assert set(senders) == {"a", "b"}, f"both workers should have sent some: {senders}"
