"""5. Several processes, and 6. the memory of a task worker.

Two web processes (one gunicorn with two sync workers, started as bench.http_load starts it) and
two `flowdesk worker` processes share a throwaway PostgreSQL database and a Redis database of
their own (FLOWDESK_TASKS_BACKEND=redis, BENCH_REDIS, flushed before and after). E-mail goes to
an SMTP server in this process (aiosmtpd) that keeps each message's X-Flowdesk-Delivery key. The
package of every release is served from here too, so the checksum step after the submit, run by
the workers, downloads it and compares its real MD5.

N users (16 quick, 64 full) each run the whole release process through the REST API, release
after release while the load lasts; a release once submitted is always finished (the tester
waits until the workers have handed the ticket to test confirmation). Then, once the outbox is
drained, the checks:

- every delivery row is `sent`, and the SMTP server received each key once (repeats counted);
- each ticket's to-do e-mails match its "assigned" events on human steps (one per candidate
  with an e-mail address);
- each ticket's history is consistent: events numbered 1..n without a gap, ticket finished, no
  open task, automation run or live timer; and `flowdesk audit verify` passes;
- no request answered 5xx, and no deadlock or serialisation error in the workers' logs;
- resident memory (VmRSS) of each web worker and each task worker: goal < 200 MB.

    .venv/bin/python -m bench.processes [--full]
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime
from email import message_from_bytes, policy
from pathlib import Path

import httpx

from bench.common import (
    ROOT,
    STEPS,
    bench_database,
    load_people,
    log,
    package_server,
    parse_mode,
    postgres_available,
    rss_mb,
    setup_django,
    skip,
    summary_ms,
    table,
    write_results,
)
from bench.http_load import (
    BASE,
    MEMORY_GOAL_MB,
    Phase,
    next_task,
    start_server,
    tokens,
    worker_pids,
)

NAME = "Several processes"
REDIS_URL = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/13")  # flushed: its own number
WEB_WORKERS = TASK_WORKERS = 2
USERS = {"quick": 16, "full": 64}
LOAD_SECONDS = {"quick": 30.0, "full": 60.0}
DRAIN_TIMEOUT = 300.0
FLOWDESK = str(Path(sys.executable).with_name("flowdesk"))
DELIVERY_HEADER = "X-Flowdesk-Delivery"  # flowdesk.notify.email.DELIVERY_HEADER (no Django yet)
TESTER_STEP = "test_confirm"  # the demo release's step after the checksum
PROCESS_NAMES = {"web": "web worker (gunicorn)", "task": "task worker"}
LOG_TROUBLE = re.compile(r"deadlock|could not serialize|serialization failure", re.IGNORECASE)


# --- the load ------------------------------------------------------------------------------------


async def release_user(phase: Phase, client: httpx.AsyncClient, team: dict, submit: dict) -> None:
    """One simulated user: release after release while the load lasts."""
    while phase.running and await release(phase, client, team, submit):
        phase.processes += 1


async def release(phase: Phase, client: httpx.AsyncClient, team: dict, submit: dict) -> bool:
    """Submit a release and act on every step to the end; False on the first error."""
    body = {
        "service": "app-release",
        "business": team["business"],
        "title": "Release",
        "fields": submit,
    }
    ticket = await phase.call(client, "action", team["product"], "POST", "/api/v1/tickets/", body)
    if ticket is None:
        return False
    submitted = time.perf_counter()
    for role, action, values in STEPS:
        # every started release is finished, so a handover is waited for after the phase too
        task = await next_task(
            phase, client, team[role], ticket["sn"], wait=True, stop_at_phase_end=False
        )
        if task is None:
            return False
        if role == "test":  # the workers have run the checksum step
            phase.latency["handover"].append(time.perf_counter() - submitted)
        path = f"/api/v1/tasks/{task}/{action}/"
        if not await phase.call(client, "action", team[role], "POST", path, {"fields": values}):
            return False
    return True


async def run_load(users: int, seconds: float, teams: list[dict], submit: dict) -> dict:
    phase = Phase(seconds)
    phase.latency |= {"poll": [], "handover": []}
    statuses: Counter[int] = Counter()

    async def count(response: httpx.Response) -> None:
        statuses[response.status_code] += 1

    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    async with httpx.AsyncClient(
        base_url=BASE, limits=limits, timeout=120, event_hooks={"response": [count]}
    ) as client:
        started = time.perf_counter()
        await asyncio.gather(*(release_user(phase, client, teams[i], submit) for i in range(users)))
        elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "latency": phase.latency,
        "errors": phase.errors,
        "processes": phase.processes,
        "statuses": dict(statuses),
    }


# --- the processes -------------------------------------------------------------------------------


class Sink:
    """An SMTP server's handler (aiosmtpd) that keeps the delivery key of every message."""

    def __init__(self) -> None:
        self._keys: list[str] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self._keys.append(message[DELIVERY_HEADER])
        return "250 Message accepted for delivery"

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._keys)


def start_workers(folder: Path) -> list[tuple[subprocess.Popen, Path]]:
    """TASK_WORKERS `flowdesk worker` processes (environment: os.environ), each logging to a file
    in `folder`; returns once each has swept and listens on the queue."""
    started = []
    for i in range(TASK_WORKERS):
        path = folder / f"worker-{i}.log"
        with path.open("w") as out:
            process = subprocess.Popen(
                [FLOWDESK, "worker", "--worker-id", f"bench-{i}"],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        started.append((process, path))
    deadline = time.monotonic() + 60
    for process, path in started:
        while not ("sweeps every" in (text := path.read_text()) and "Listening on" in text):
            if process.poll() is not None or time.monotonic() > deadline:
                stop(started)
                raise RuntimeError(f"flowdesk worker did not start; its log:\n{text}")
            time.sleep(0.2)
    return started


def stop(workers: list[tuple[subprocess.Popen, Path]]) -> None:
    """SIGTERM (each finishes the message in hand), then a kill after 60 s."""
    for process, _ in workers:
        process.send_signal(signal.SIGTERM)
    for process, _ in workers:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_drained() -> float | None:
    """Seconds until no delivery is pending and no automation run is open; None on timeout."""
    from flowdesk.automation.models import AutomationRun
    from flowdesk.notify.models import Delivery

    started = time.perf_counter()
    while (
        Delivery.objects.filter(status=Delivery.Status.PENDING).exists()
        or AutomationRun.objects.filter(status__in=AutomationRun.OPEN).exists()
    ):
        if time.perf_counter() - started > DRAIN_TIMEOUT:
            return None
        time.sleep(0.2)
    return time.perf_counter() - started


# --- the checks ----------------------------------------------------------------------------------


def check_outbox(received: list[str]) -> dict:
    """Every delivery sent, every e-mail key received once, nothing received that was not due."""
    from flowdesk.notify.models import Delivery

    rows = list(Delivery.objects.values_list("key", "channel", "status", "event"))
    emails = {key for key, channel, _, _ in rows if channel == Delivery.Channel.EMAIL}
    counts = Counter(received)
    return {
        "rows": len(rows),
        "not_sent": sorted(key for key, _, status, _ in rows if status != Delivery.Status.SENT),
        "emails_due": len(emails),
        "received": len(received),
        "missing": sorted(emails - set(counts)),
        "duplicates": {key: n for key, n in counts.items() if n > 1},
        "unexpected": sorted(set(counts) - emails),
        "by_event": dict(Counter(event for _, channel, _, event in rows if channel == "email")),
    }


def check_todo_mails(received: list[str]) -> dict:
    """Per ticket: the to-do e-mails its "assigned" events call for (one per candidate with an
    e-mail address, on steps people work – not the automation step) against the rows written
    and the messages received."""
    from django.contrib.auth import get_user_model

    from flowdesk.notify.models import Delivery
    from flowdesk.tickets.models import Event
    from flowdesk.workflows.models import WorkflowVersion

    reachable = set(
        get_user_model()
        .objects.filter(is_active=True)
        .exclude(email="")
        .values_list("username", flat=True)
    )
    system = {
        version.pk: {key for key, node in version.definition.nodes.items() if node.system}
        for version in WorkflowVersion.objects.all()
    }
    expected: Counter[int] = Counter()
    assigned = Event.objects.filter(kind="assigned").values_list(
        "ticket_id", "ticket__version_id", "node_id", "data"
    )
    for ticket, version, node, data in assigned:
        if node not in system[version]:
            expected[ticket] += len(set(data.get("candidates", [])) & reachable)
    todo = Delivery.objects.filter(channel=Delivery.Channel.EMAIL, event="task_opened")
    ticket_of = dict(todo.values_list("key", "ticket_id"))
    written = Counter(ticket_of.values())
    got = Counter(ticket_of[key] for key in received if key in ticket_of)
    tickets = set(expected) | set(written) | set(got)
    return {
        "expected": sum(expected.values()),
        "written": sum(written.values()),
        "received": sum(got.values()),
        "tickets_differing": sorted(t for t in tickets if not expected[t] == written[t] == got[t]),
    }


def check_histories() -> dict:
    """Each ticket's history: problem -> serial numbers of the tickets that have it."""
    from flowdesk.automation.models import AutomationRun
    from flowdesk.sla.models import Timer
    from flowdesk.tickets.models import Event, Task, Ticket

    seqs: dict[int, list[int]] = defaultdict(list)
    for ticket, seq in Event.objects.order_by("ticket_id", "seq").values_list("ticket_id", "seq"):
        seqs[ticket].append(seq)
    problems: dict[str, list[str]] = {}

    def flag(problem: str, serials: object) -> None:
        problems[problem] = sorted(set(serials))

    tickets = list(Ticket.objects.values_list("pk", "sn", "status", "ended_at"))
    flag(
        "events not numbered 1..n",
        (sn for pk, sn, _, _ in tickets if seqs[pk] != list(range(1, len(seqs[pk]) + 1))),
    )
    flag(
        "not finished",
        (sn for _, sn, status, ended in tickets if status != Ticket.Status.FINISHED or not ended),
    )
    tasks = Task.objects.filter(status=Task.Status.OPEN)
    flag("open task", tasks.values_list("ticket__sn", flat=True))
    runs = AutomationRun.objects.filter(status__in=AutomationRun.OPEN)
    flag("open automation run", runs.values_list("ticket__sn", flat=True))
    flag("live timer", Timer.objects.live().values_list("ticket__sn", flat=True))
    events = sum(len(s) for s in seqs.values())
    return {"tickets": len(tickets), "events": events, "problems": problems}


def checksum_seconds() -> list[float]:
    """Per ticket, server time from the submit to the tester's task (the workers' checksum
    step, queue included), from the events' timestamps."""
    from flowdesk.tickets.models import Event

    submitted: dict[int, datetime] = {}
    seconds = []
    events = Event.objects.order_by("ticket_id", "seq")
    for ticket, kind, node, at in events.values_list("ticket_id", "kind", "node_id", "at"):
        submitted.setdefault(ticket, at)
        if kind == "assigned" and node == TESTER_STEP:
            seconds.append((at - submitted[ticket]).total_seconds())
    return seconds


def audit_verify() -> dict:
    """`flowdesk audit verify` on the bench database, as an operator would run it."""
    done = subprocess.run(
        [FLOWDESK, "audit", "verify"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    return {"ok": done.returncode == 0, "output": (done.stdout + done.stderr).strip()}


def log_trouble(workers: list[tuple[subprocess.Popen, Path]]) -> dict:
    """ERROR lines, and deadlock or serialisation errors, in the task workers' logs."""
    lines = [line for _, path in workers for line in path.read_text().splitlines()]
    return {
        "errors": [line for line in lines if " ERROR " in line][:20],
        "deadlocks": [line for line in lines if LOG_TROUBLE.search(line)][:20],
    }


# --- the run -------------------------------------------------------------------------------------


def unreachable() -> str | None:
    """Why this benchmark cannot run here, or None."""
    try:
        import aiosmtpd  # noqa: F401 – the SMTP server (the `test` extra)
    except ImportError:
        return "aiosmtpd is not installed (pip install -e '.[test]')"
    if not postgres_available():
        return "PostgreSQL is not reachable (set BENCH_PG=postgres://user@host:port)"
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis is not reachable at {REDIS_URL} ({exc.__class__.__name__}; set BENCH_REDIS)"
    return None


def run(mode: str, folder: Path) -> dict:
    """Set up, load, drain, measure and check; returns the results."""
    from aiosmtpd.controller import Controller

    users, seconds = USERS[mode], LOAD_SECONDS[mode]
    sink = Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    # Read by this process's Django (set up below), gunicorn and the workers alike.
    os.environ |= {
        "FLOWDESK_TASKS_BACKEND": "redis",
        "FLOWDESK_REDIS_URL": REDIS_URL,
        "FLOWDESK_EMAIL_HOST": "127.0.0.1",
        "FLOWDESK_EMAIL_PORT": str(smtp.port),
    }
    try:
        with bench_database("flowdesk_bench_processes") as url, package_server() as submit:
            database = setup_django(url)
            teams, _ = tokens(load_people(users))
            from django.db import connections

            connections.close_all()
            workers = start_workers(folder)
            try:
                server = start_server(url, WEB_WORKERS)
                try:
                    log(
                        f"{NAME}: {users} users for {seconds:g} s, gunicorn x{WEB_WORKERS}, "
                        f"{TASK_WORKERS} task workers, {database}, Redis {REDIS_URL}…"
                    )
                    load = asyncio.run(run_load(users, seconds, teams, submit))
                    drained = wait_drained()
                    memory = {
                        "web": {pid: rss_mb(pid) for pid in worker_pids(server.pid)},
                        "task": {p.pid: rss_mb(p.pid) for p, _ in workers},
                    }
                finally:
                    server.send_signal(signal.SIGTERM)
                    server.wait(timeout=30)
            finally:
                stop(workers)
            received = smtp_keys_settled(sink)
            return {
                "database": database,
                "redis": f"Redis {redis_version()} at {REDIS_URL}",
                "users": users,
                "load_seconds": seconds,
                "load": load,
                "drain_seconds": drained,
                "memory": memory,
                "outbox": check_outbox(received),
                "todo_mails": check_todo_mails(received),
                "history": check_histories(),
                "checksum_seconds": checksum_seconds(),
                "audit": audit_verify(),
                "worker_logs": log_trouble(workers),
            }
    finally:
        smtp.stop()


def smtp_keys_settled(sink: Sink) -> list[str]:
    """The keys received, once a second has passed without a new message."""
    while True:
        keys = sink.keys()
        time.sleep(1)
        if len(sink.keys()) == len(keys):
            return keys


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def redis_version() -> str:
    import redis

    return redis.Redis.from_url(REDIS_URL).info("server")["redis_version"]


# --- the report ----------------------------------------------------------------------------------


def goals(r: dict) -> dict[str, bool]:
    outbox, todo, history = r["outbox"], r["todo_mails"], r["history"]
    statuses = r["load"]["statuses"]
    memory = [*r["memory"]["web"].values(), *r["memory"]["task"].values()]
    return {
        "outbox drained": r["drain_seconds"] is not None,
        "every delivery sent": not outbox["not_sent"],
        "every e-mail received once": not (
            outbox["missing"] or outbox["duplicates"] or outbox["unexpected"]
        ),
        "to-do e-mails match assigned events": not todo["tickets_differing"]
        and todo["expected"] == todo["written"] == todo["received"],
        "every history consistent": not any(history["problems"].values()),
        "audit chain verifies": r["audit"]["ok"],
        "no 5xx": not any(int(s) >= 500 for s in statuses),
        "no request error": not r["load"]["errors"],
        "no deadlock/serialisation error in logs": not r["worker_logs"]["deadlocks"],
        f"every process < {MEMORY_GOAL_MB} MB": max(memory) < MEMORY_GOAL_MB,
    }


def tables(r: dict, met: dict[str, bool]) -> list[str]:
    load, outbox, todo, history = r["load"], r["outbox"], r["todo_mails"], r["history"]
    seconds = load["seconds"]
    requests = sum(load["statuses"].values())
    fivexx = sum(n for status, n in load["statuses"].items() if int(status) >= 500)
    latencies = [
        ("action POST", load["latency"]["action"]),
        ("to-do read", load["latency"]["read"]),
        ("submit -> tester's task (client)", load["latency"]["handover"]),
        ("checksum step: submit -> test assigned (server)", r["checksum_seconds"]),
    ]
    drained = "timed out" if r["drain_seconds"] is None else r["drain_seconds"]
    return [
        table(
            f"{NAME}: {r['users']} users, gunicorn x{WEB_WORKERS} sync workers, "
            f"{TASK_WORKERS} task workers (Redis queue), {r['database']}",
            [
                "users",
                "load s",
                "releases done",
                "releases/s",
                "action POST/s",
                "requests",
                "5xx",
                "errors",
            ],
            [
                [
                    r["users"],
                    seconds,
                    load["processes"],
                    load["processes"] / seconds,
                    len(load["latency"]["action"]) / seconds,
                    requests,
                    fivexx,
                    len(load["errors"]),
                ]
            ],
        ),
        table(
            "Latency under the load",
            ["what", "n", "p50 ms", "p95 ms", "p99 ms"],
            [
                [what, len(v), *(summary_ms(v)[f"p{q}_ms"] for q in (50, 95, 99))]
                for what, v in latencies
                if v
            ],
        ),
        table(
            "Outbox after the load",
            [
                "delivery rows",
                "not sent",
                "e-mails due",
                "e-mails received",
                "missing",
                "keys received twice or more",
                "unexpected",
                "drained after s",
            ],
            [
                [
                    outbox["rows"],
                    len(outbox["not_sent"]),
                    outbox["emails_due"],
                    outbox["received"],
                    len(outbox["missing"]),
                    len(outbox["duplicates"]),
                    len(outbox["unexpected"]),
                    drained,
                ]
            ],
        ),
        table("E-mails by event", ["event", "delivery rows"], sorted(outbox["by_event"].items())),
        table(
            "To-do e-mails against the tickets' assigned events",
            [
                "expected (assigned x candidates with e-mail)",
                "rows written",
                "received",
                "tickets differing",
            ],
            [[todo["expected"], todo["written"], todo["received"], len(todo["tickets_differing"])]],
        ),
        table(
            f"History checker: {history['tickets']} tickets, {history['events']} events",
            ["check", "tickets failing"],
            [
                *[[k, len(v)] for k, v in history["problems"].items()],
                ["flowdesk audit verify", r["audit"]["output"].splitlines()[-1]],
            ],
        ),
        table(
            f"Memory after the load (goal < {MEMORY_GOAL_MB} MB each)",
            ["process", "pid", "VmRSS MB", "goal"],
            [
                [PROCESS_NAMES[kind], pid, mb, mb < MEMORY_GOAL_MB]
                for kind, rss in r["memory"].items()
                for pid, mb in rss.items()
            ],
        ),
        table("Goals", ["goal", "result"], list(met.items())),
    ]


def main() -> None:
    args = parse_mode(__doc__)
    mode = "full" if args.full else "quick"
    if why := unreachable():
        skip(NAME, why)
        return
    flush_redis()
    try:
        with tempfile.TemporaryDirectory(prefix="flowdesk-bench-") as folder:
            results = run(mode, Path(folder))
    finally:
        flush_redis()
    met = goals(results)
    printed = tables(results, met)
    results["load"]["latency"] = {
        k: summary_ms(v) for k, v in results["load"]["latency"].items() if v
    }
    results["load"]["errors"] = results["load"]["errors"][:20]
    results["checksum_seconds"] = summary_ms(results["checksum_seconds"])
    write_results("processes", mode, {**results, "met": met}, printed)


if __name__ == "__main__":
    main()
