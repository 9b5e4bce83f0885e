"""`flowdesk worker` processes sending the outbox's e-mails to a real SMTP server (aiosmtpd).

Delivery is at least once, and exactly once by idempotency key: a message goes out again only
when a worker died after the server accepted it and before the worker recorded it – at most one
message per sending thread of the dead worker (its queue task and its sweep). Such a repeat
carries the same key (`X-Flowdesk-Delivery`) and Message-ID, so the receiver can drop it.
"""

import signal
from collections import Counter

import pytest

from .conftest import REDIS_URL, Inbox, Site, Workers, wait_until

pytestmark = pytest.mark.slow  # real processes: seconds each, and a migrated database

IN_FLIGHT_PER_WORKER = 2  # the thread running queue tasks and the ticker thread


def wait_all_sent(site: Site, inbox: Inbox, keys: list[str], workers: Workers) -> None:
    """Until every key has reached the inbox and is recorded as sent."""

    def details() -> str:
        return f"not sent:\n{site.unsent()}\n{workers.logs()}"

    wait_until(lambda: set(inbox.keys()) >= set(keys), 120, "all messages", details)
    wait_until(lambda: site.sent() == set(keys), 30, "all recorded", details)


def test_a_killed_worker_leaves_nothing_undelivered(site: Site, inbox: Inbox, workers: Workers):
    inbox.delay = 0.02
    keys = site.driver("enqueue", "200", "kill")
    lease = {"FLOWDESK_OUTBOX_LEASE_SECONDS": "6"}  # outlasts the look at the rows below
    first = workers.start("first", **inbox.env, **lease)
    wait_until(lambda: len(inbox.keys()) >= 40, 60, "40 messages", workers.logs)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait()

    rows = site.driver("deliveries")
    assert len(inbox.keys()) < len(keys), "the kill should land mid-batch"
    assert any(row["leased"] for row in rows.values()), "the dead worker held a claimed batch"
    workers.start("second", **inbox.env, **lease)
    wait_all_sent(site, inbox, keys, workers)

    received = Counter(inbox.keys())
    assert set(received) == set(keys)
    repeated = [key for key, count in received.items() if count > 1]
    assert len(repeated) <= IN_FLIGHT_PER_WORKER and max(received.values()) <= 2, received
    for key in repeated:  # a repeat is recognisably the same message
        ids = {m["Message-ID"] for m in inbox.messages if m["X-Flowdesk-Delivery"] == key}
        assert len(ids) == 1


def test_two_workers_send_every_delivery_once(
    site: Site, inbox: Inbox, workers: Workers, backend: dict[str, str]
):
    # All due before the workers start, so each first sweep claims a full batch, which takes
    # longer to send than the lease lasts: the tail of a batch expires while the worker holding
    # it is still busy, the other worker claims it, and the first must then skip it.
    inbox.delay = 0.12  # a batch of 50: 6 s at least
    keys = site.driver("enqueue", "120", "pair", env=backend)
    env = {**inbox.env, **backend, "FLOWDESK_OUTBOX_LEASE_SECONDS": "4"}
    for name in "ab":
        workers.start(name, **env, FLOWDESK_EMAIL_FROM=f"{name}@example.com")
    wait_all_sent(site, inbox, keys, workers)

    assert Counter(inbox.keys()) == Counter(keys)
    senders = Counter(message["From"].addresses[0].username for message in inbox.messages)
    assert set(senders) == {"a", "b"}, f"both workers should have sent some: {senders}"
    assert queue_tasks_done(site, backend) > 0, "the queue, not only the sweeps, sent some"


def queue_tasks_done(site: Site, backend: dict[str, str]) -> int:
    if backend["FLOWDESK_TASKS_BACKEND"] == "database":
        return site.driver("tasks-done")
    import redis
    from rq import Queue

    return Queue("default", connection=redis.Redis.from_url(REDIS_URL)).finished_job_registry.count


def test_the_queue_hears_of_deliveries_only_after_commit(site: Site, backend: dict[str, str]):
    """RQ enqueues at once, even inside a transaction: the outbox wakes it on commit."""
    assert site.driver("commit-check", env=backend) == {
        "before": 0,
        "inside": 0,
        "after_commit": 1,
        "after_rollback": 1,
        "rolled_back_rows": 0,
    }


def test_an_automation_run_goes_before_e_mails_queued_earlier(site: Site, backend: dict[str, str]):
    """A ticket waits on its automation step; an e-mail can wait a moment."""
    assert site.driver("first-task", env=backend) == "run_automation"


def test_sigterm_finishes_the_message_in_hand_and_hands_back_the_rest(
    site: Site, inbox: Inbox, workers: Workers, backend: dict[str, str]
):
    inbox.delay = 0.3
    worker = workers.start("stopping", **inbox.env, **backend)
    worker.wait_ready()
    keys = site.driver("enqueue", "20", "term", env=backend)
    wait_until(lambda: len(inbox.keys()) >= 2, 60, "2 messages", workers.logs)
    worker.process.send_signal(signal.SIGTERM)
    # generous: on a loaded machine the message in hand may wait out SQLite's 20 s write lock
    assert worker.process.wait(timeout=40) == 0, worker.log()

    rows = site.driver("deliveries")
    sent = {key for key, row in rows.items() if row["status"] == "sent"}
    assert Counter(inbox.keys()) == Counter(sent), "each message out is recorded, once"
    assert 0 < len(sent) < len(keys)
    assert not [key for key, row in rows.items() if row["leased"]], "the rest is handed back"
    assert "stopped" in worker.log()


def test_without_redis_the_sweeps_still_send(site: Site, inbox: Inbox, workers: Workers):
    nowhere = {"FLOWDESK_TASKS_BACKEND": "redis", "FLOWDESK_REDIS_URL": "redis://127.0.0.1:1/0"}
    worker = workers.start("no-redis", **inbox.env, **nowhere)
    keys = site.driver("enqueue", "5", "noredis", env=nowhere)
    wait_all_sent(site, inbox, keys, workers)
    assert Counter(inbox.keys()) == Counter(keys)
    assert worker.process.poll() is None, "the worker keeps running"
    assert "Redis" in worker.log() and "retrying" in worker.log()
