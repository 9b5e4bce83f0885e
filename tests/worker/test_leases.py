"""The outbox's leases as the workers use them, in-process: a worker sends only a delivery it
still holds, and a stopping worker hands back what it has not sent."""

import pytest

from flowdesk import worker
from flowdesk.notify import outbox
from flowdesk.notify.models import Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    """The keys the e-mail sender was asked to send, in order."""
    keys: list[str] = []

    def sender(delivery: Delivery) -> str:
        keys.append(delivery.key)
        return "250 OK"

    monkeypatch.setitem(outbox.SENDERS, Delivery.Channel.EMAIL, sender)
    return keys


def record(*keys: str) -> None:
    outbox.enqueue(
        Delivery(key=key, channel=Delivery.Channel.EMAIL, event="urged", address=f"{key}@x.org")
        for key in keys
    )


def test_a_delivery_another_worker_claimed_meanwhile_is_not_sent_again(sent, settings):
    settings.FLOWDESK_OUTBOX_LEASE_SECONDS = 0  # every lease has expired by the next claim
    record("k1")
    (mine,) = outbox.claim()  # then this worker is slow to get to it...
    (theirs,) = outbox.claim()  # ...and another worker claims it

    assert outbox.send(mine) is False and sent == []
    assert outbox.send(theirs) is True and sent == ["k1"]
    assert Delivery.objects.get().attempts == 1


def test_a_slow_batch_keeps_the_message_in_hand_and_leaves_the_rest_to_another_worker(
    sent, settings, monkeypatch
):
    record("k1", "k2")
    settings.FLOWDESK_OUTBOX_LEASE_SECONDS = 0  # the batch's leases expire at once...
    batch = outbox.claim()
    settings.FLOWDESK_OUTBOX_LEASE_SECONDS = 120
    taken: list[Delivery] = []

    def sender(delivery: Delivery) -> str:  # ...and while k1 goes out, another worker claims
        sent.append(delivery.key)
        taken.extend(outbox.claim())
        return "250 OK"

    monkeypatch.setitem(outbox.SENDERS, Delivery.Channel.EMAIL, sender)
    assert outbox.send_batch(batch) == 1
    assert sent == ["k1"] and [d.key for d in taken] == ["k2"]


def test_a_stopping_worker_finishes_the_message_in_hand_and_hands_back_the_rest(sent, monkeypatch):
    record("k1", "k2", "k3")
    batch = outbox.claim()

    def sender(delivery: Delivery) -> str:  # SIGTERM arrives while the first one goes out
        sent.append(delivery.key)
        worker.stopping.set()
        return "250 OK"

    monkeypatch.setitem(outbox.SENDERS, Delivery.Channel.EMAIL, sender)
    try:
        assert outbox.send_batch(batch) == 1
        assert outbox.send_due() == 0
    finally:
        worker.stopping.clear()
    assert sent == ["k1"]
    assert [d.key for d in outbox.claim()] == ["k2", "k3"]  # at once, no lease to wait out
