"""The outbox: deliveries are rows written with the action that causes them, sent after commit.

A row is *claimed* with a lease before it is sent, so two workers never send it at once; a
worker that dies mid-send leaves a lease that expires, and the row is sent again (with the same
idempotency key). Failures back off exponentially; after MAX_ATTEMPTS the row is `failed`, shown
to admins with "retry now". Nothing here decides who is told what: see rules.py.
"""

import logging
import random
from collections.abc import Callable, Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from flowdesk import worker
from flowdesk.notify.models import Delivery

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BATCH = 50

# channel -> sender; a sender sends one delivery or raises, and returns the receiver's answer.
Sender = Callable[[Delivery], str]
SENDERS: dict[str, Sender] = {}
# channel -> what prepares a batch of its deliveries before they are sent one by one.
Preparer = Callable[[list[Delivery]], None]
PREPARERS: dict[str, Preparer] = {}


def register_sender(channel: str, sender: Sender, *, prepare: Preparer | None = None) -> None:
    SENDERS[channel] = sender
    if prepare is not None:
        PREPARERS[channel] = prepare


def lease() -> timedelta:
    return timedelta(seconds=settings.FLOWDESK_OUTBOX_LEASE_SECONDS)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min ... capped at 1 hour, with ±20% jitter so retries do not stampede."""
    seconds = min(30 * 2 ** max(attempts - 1, 0), 3600)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


def enqueue(deliveries: Iterable[Delivery]) -> list[Delivery]:
    """Write deliveries in the current transaction and wake a worker after it commits.

    A key already in the outbox is skipped, so recording an event twice sends it once."""
    rows = list(deliveries)
    if not rows:
        return []
    now = timezone.now()
    for row in rows:
        row.next_attempt_at = row.next_attempt_at or now
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    keys = [row.key for row in rows]
    transaction.on_commit(lambda: wake(keys))
    return rows


def wake(keys: list[str]) -> None:
    """Ask a worker to send these now; if the queue is down, the periodic sweep sends them."""
    from flowdesk.notify.tasks import send_deliveries

    try:
        send_deliveries.enqueue(keys)
    except Exception:  # the outbox row is the truth; the queue only makes it quick
        log.warning("could not enqueue %d deliveries; the sweep will send them", len(keys))


def claim(keys: list[str] | None = None, limit: int = BATCH) -> list[Delivery]:
    """Lease due, pending deliveries (those named, or the oldest due) for this worker."""
    due = Delivery.objects.filter(
        status=Delivery.Status.PENDING, next_attempt_at__lte=timezone.now()
    )
    if keys is not None:
        due = due.filter(key__in=keys)
    ids, token = worker.lease_rows(due, order="next_attempt_at", limit=limit, lease=lease())
    return list(
        Delivery.objects.filter(pk__in=ids, lease=token)
        .select_related("recipient", "endpoint", "ticket")
        .order_by("next_attempt_at", "pk")  # one ticket's events go out in their order
    )


def send(delivery: Delivery) -> bool:
    """Send one claimed delivery and record the outcome; True when it went out."""
    attempts = delivery.attempts + 1
    mine = Delivery.objects.filter(pk=delivery.pk, lease=delivery.lease)
    # Renew the lease right before sending: a batch may outlast it, and a row another worker has
    # claimed since (it found the lease expired) is that worker's now – skip it, never send twice.
    if not mine.update(leased_until=timezone.now() + lease()):
        return False
    try:
        answer = SENDERS[delivery.channel](delivery)
    except Exception as error:  # any failure is retried: mail servers and webhooks recover
        failed = attempts >= MAX_ATTEMPTS
        mine.update(
            attempts=attempts,
            status=Delivery.Status.FAILED if failed else Delivery.Status.PENDING,
            next_attempt_at=timezone.now() + backoff(attempts),
            leased_until=None,
            last_error=f"{type(error).__name__}: {error}"[:2000],
        )
        log.info("delivery %s failed (attempt %d): %s", delivery.key, attempts, error)
        return False
    mine.update(
        attempts=attempts,
        status=Delivery.Status.SENT,
        sent_at=timezone.now(),
        leased_until=None,
        last_error="",
        response=str(answer)[:2000],
    )
    return True


def send_batch(batch: list[Delivery]) -> int:
    """Send claimed deliveries one by one; a worker asked to stop hands the rest back."""
    for channel, prepare in PREPARERS.items():
        if rows := [row for row in batch if row.channel == channel]:
            try:
                prepare(rows)
            except Exception:  # then each is prepared as it is sent, and fails on its own
                log.exception("preparing %d %s deliveries failed", len(rows), channel)
    sent = 0
    for index, delivery in enumerate(batch):
        if worker.stopping.is_set():
            rest = [row.pk for row in batch[index:]]
            Delivery.objects.filter(pk__in=rest, lease=delivery.lease).update(leased_until=None)
            break
        sent += send(delivery)
    return sent


def send_claimed(keys: list[str] | None = None, limit: int = BATCH) -> int:
    """Claim and send; returns how many went out."""
    return send_batch(claim(keys, limit))


def send_due() -> int:
    """The worker's sweep: everything due (new, retries, expired leases), batch by batch."""
    sent = total = 0
    while not worker.stopping.is_set() and (batch := claim()):
        total += len(batch)
        sent += send_batch(batch)
        if len(batch) < BATCH:
            break
    return sent
