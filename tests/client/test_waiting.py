"""The wait loop's exit statuses – the contract a pipeline's release gate relies on."""

import httpx
import pytest

from flowdesk.client.http import ApiError, Client
from flowdesk.client.waiting import MAX_OUTAGE, PROCEED, STOPPED, TIMED_OUT, Wait, wait_for_ticket

from .fakes import RELEASE, SN, TEST_CONFIRM, Clock, Server, problem, ticket


def run(server: Server, wait: Wait | None = None) -> tuple[int, dict | None, list, list]:
    clock, lines, warnings = Clock(), [], []
    client = Client("http://flowdesk.test", "fd_secret", transport=server.transport)
    code, last = wait_for_ticket(
        client,
        SN,
        wait or Wait(interval=10),
        progress=lines.append,
        warn=warnings.append,
        clock=clock,
        sleep=clock.sleep,
    )
    return code, last, lines, warnings


def test_finished_ticket_exits_0_and_progress_prints_one_line_per_change():
    server = Server(
        ticket("running", TEST_CONFIRM),
        ticket("running", TEST_CONFIRM),
        ticket("running", RELEASE),
        ticket("finished", end_reason="finished"),
    )
    code, last, lines, _ = run(server)
    assert code == PROCEED and last["status"] == "finished"
    assert lines == [
        f"{SN} running – waiting at Test confirmation (test_confirm) – 0s",
        f"{SN} running – waiting at Release (release) – 20s",
        f"{SN} finished – 30s",
    ]
    assert len(server.requests) == 4
    request = server.requests[0]
    assert request.url == f"http://flowdesk.test/api/v1/tickets/{SN}/"
    assert request.headers["Authorization"] == "Token fd_secret"


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("terminated", "rejected at coordinate"),
        ("terminated", "terminated"),
        ("withdrawn", "withdrawn by requester"),
    ],
)
def test_a_ticket_that_ends_without_finishing_exits_3(status, reason):
    code, _, lines, _ = run(
        Server(ticket("running", TEST_CONFIRM), ticket(status, end_reason=reason))
    )
    assert code == STOPPED
    assert lines[-1].startswith(f"{SN} {status}")
    assert (f"({reason})" in lines[-1]) == (reason != status)


def test_until_node_exits_0_when_the_ticket_waits_there():
    server = Server(ticket("running", TEST_CONFIRM), ticket("running", RELEASE))
    code, last, _, _ = run(server, Wait(until_node="release", interval=10))
    assert code == PROCEED and last["current_nodes"] == [RELEASE]


def test_until_node_exits_0_when_the_ticket_already_passed_it():
    passed = ticket("running", {"id": "qc_review", "name": "QC"}, snapshots=[{"node": "release"}])
    code, _, _, _ = run(Server(passed), Wait(until_node="release"))
    assert code == PROCEED


def test_a_rejection_after_the_node_still_stops_the_pipeline():
    ended = ticket("terminated", end_reason="rejected at qc", snapshots=[{"node": "release"}])
    code, _, _, _ = run(Server(ended), Wait(until_node="release"))
    assert code == STOPPED


def test_suspended_keeps_waiting():
    server = Server(ticket("suspended", TEST_CONFIRM), ticket("running", RELEASE))
    code, _, lines, _ = run(server, Wait(until_node="release", interval=10))
    assert code == PROCEED and lines[0].startswith(f"{SN} suspended")


def test_timeout_exits_4_after_the_last_poll_at_the_deadline():
    server = Server(ticket("running", TEST_CONFIRM))
    code, last, lines, _ = run(server, Wait(until_node="release", timeout=25, interval=10))
    assert code == TIMED_OUT and last["status"] == "running"
    assert len(server.requests) == 4  # at 0s, 10s, 20s and 25s
    assert len(lines) == 1  # nothing changed: one line (a heartbeat only after a minute)


def test_a_heartbeat_line_every_minute_when_nothing_changes():
    server = Server(ticket("running", TEST_CONFIRM))
    _, _, lines, _ = run(server, Wait(timeout=150, interval=10))
    assert [line.rsplit("– ", 1)[1] for line in lines] == ["0s", "1m", "2m"]


def test_a_503_and_a_dropped_connection_are_retried_with_backoff():
    server = Server(
        problem(503, "Service Unavailable"),
        httpx.ConnectError("connection refused"),
        ticket("finished"),
    )
    code, _, _, warnings = run(server)
    assert code == PROCEED and len(server.requests) == 3
    assert warnings == [
        f"{SN}: Service Unavailable – retrying in 10s",
        f"{SN}: cannot reach http://flowdesk.test: connection refused – retrying in 20s",
    ]


def test_a_long_outage_gives_up():
    clock = Clock()
    server = Server(problem(502, "Bad Gateway"))
    client = Client("http://flowdesk.test", "t", transport=server.transport)
    with pytest.raises(ApiError, match="Bad Gateway"):
        wait_for_ticket(
            client, SN, Wait(), progress=print, warn=print, clock=clock, sleep=clock.sleep
        )
    assert MAX_OUTAGE < clock.now - 1000 < MAX_OUTAGE + 61
    assert max(clock.sleeps) == 60  # the backoff is capped


@pytest.mark.parametrize("status", [401, 404])
def test_client_errors_are_not_retried(status):
    server = Server(problem(status, "Not found."))
    with pytest.raises(ApiError) as caught:
        run(server)
    assert caught.value.status == status and len(server.requests) == 1
