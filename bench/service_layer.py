"""2. The service layer on PostgreSQL: completed release processes per second through
flowdesk.tickets.actions (every database write of a real action: row lock, state, tasks,
candidates, participants, history events, audit chain, outbox rows and queued tasks), with 1
and 8 threads. Each thread has its own connection and its own release team, so tickets are
distinct. 1- and 8-thread runs alternate.

The checksum step after the submit is what a `flowdesk worker` does: here the thread that
submitted does it at once (flowdesk.automation.runner.run_claimed on the ticket's run, which
downloads the demo package from a local server and compares its MD5), and its time counts in
the process time. Nothing waits for a queue, so this is the service layer's cost, not a
worker's delay.

    .venv/bin/python -m bench.service_layer [--full]
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import TYPE_CHECKING

from bench.common import (
    STEPS,
    LockWaits,
    bench_database,
    load_people,
    log,
    package_server,
    parse_mode,
    postgres_available,
    setup_django,
    skip,
    summary_ms,
    table,
    timed,
    write_results,
)

if TYPE_CHECKING:
    from flowdesk.tickets.models import Ticket

THREADS = (1, 8)
NAME = "Service layer on PostgreSQL"


def release(team: dict, submit: dict) -> float:
    """One release process, start to finish, through the service layer; returns the seconds
    the checksum step (the worker's part) took."""
    from flowdesk.tickets import actions
    from flowdesk.tickets.models import Task, Ticket

    ticket = actions.do_submit_ticket(
        team["service"],
        actor=team["product"],
        title="Release server 2.4.1",
        values=submit,
        business=team["business"],
        source="cli",
    )
    checksum = timed(lambda: run_checksum(ticket))
    for role, action, values in STEPS:
        task = Task.objects.get(ticket=ticket, status=Task.Status.OPEN)
        act = actions.do_approve_task if action == "approve" else actions.do_complete_task
        act(task, actor=team[role], values=values, source="cli")
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.FINISHED
    return checksum


def run_checksum(ticket: Ticket) -> None:
    """The worker's part, in this thread: claim the ticket's automation run and work on it."""
    from flowdesk.automation import runner
    from flowdesk.automation.models import AutomationRun

    run = AutomationRun.objects.get(ticket=ticket, status__in=AutomationRun.OPEN)
    if runner.run_claimed([run.pk]) != 1:
        raise RuntimeError(f"automation run {run.pk} of {ticket} was not worked on")
    run.refresh_from_db()
    if run.status != AutomationRun.Status.SUCCEEDED:
        raise RuntimeError(f"checksum step of {ticket} ended {run.status}: {run.error}")


def run(teams: list[dict], submit: dict, threads: int, seconds: float) -> dict:
    """Processes/s with `threads` threads, each its own connection and team, for `seconds`."""
    from django.db import connection

    latencies: list[list[float]] = [[] for _ in range(threads)]
    checksums: list[list[float]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    stop = time.perf_counter() + seconds

    def worker(i: int) -> None:
        try:
            while time.perf_counter() < stop:
                start = time.perf_counter()
                checksums[i].append(release(teams[i], submit))
                latencies[i].append(time.perf_counter() - start)
        except BaseException as exc:  # reported, never swallowed
            errors.append(exc)
        finally:
            connection.close()

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    done = [x for per_thread in latencies for x in per_thread]
    checksum = [x for per_thread in checksums for x in per_thread]
    return {"processes": len(done), "seconds": elapsed, "latencies": done, "checksum": checksum}


def main() -> None:
    args = parse_mode(__doc__)
    mode = "full" if args.full else "quick"
    if not postgres_available():
        skip(NAME, "PostgreSQL is not reachable (set BENCH_PG=postgres://user@host:port)")
        return
    seconds, repetitions = (20.0, 3) if args.full else (4.0, 2)
    with bench_database("flowdesk_bench_service") as url, package_server() as submit:
        database = setup_django(url)
        log(f"{NAME}: {database}, {repetitions} x {THREADS} threads x {seconds:.0f} s…")
        teams = load_people(max(THREADS))
        release(teams[0], submit)  # warm up (parsed definition cache, connections)
        runs: dict[int, list[dict]] = {n: [] for n in THREADS}
        waits = {n: LockWaits(url) for n in THREADS}
        for _ in range(repetitions):
            for threads in THREADS:
                with waits[threads]:
                    runs[threads].append(run(teams, submit, threads, seconds))
    rows, data = [], {"database": database, "seconds_per_run": seconds, "runs": {}}
    for threads, results in runs.items():
        rates = [r["processes"] / r["seconds"] for r in results]
        latency = summary_ms([x for r in results for x in r["latencies"]])
        checksum = summary_ms([x for r in results for x in r["checksum"]])
        actions_per_s = statistics.median(rates) * (1 + len(STEPS))
        rows.append(
            [threads, statistics.median(rates), actions_per_s, latency["p50_ms"], latency["p95_ms"],
             checksum["p50_ms"], checksum["p95_ms"]]
        )  # fmt: skip
        data["runs"][threads] = {
            "processes_per_s": rates,
            "process_latency": latency,
            "checksum_step_latency": checksum,
            "lock_waits": waits[threads].mean_waiting(),
        }
    scaling = rows[1][1] / rows[0][1]
    data["scaling_8_over_1"] = scaling
    tables = [
        table(
            f"{NAME} ({database}): completed release processes (5 actions by people each, and "
            "the checksum step, run by the submitting thread as a worker would; its time is in "
            "the process time)",
            [
                "threads",
                "processes/s",
                "actions/s (people's)",
                "process p50 ms",
                "process p95 ms",
                "of it checksum step p50 ms",
                "checksum step p95 ms",
            ],
            rows,
        ),
        table("Service layer: 8 threads over 1", ["speed-up"], [[f"{scaling:.2f}x"]]),
        table(
            "Service layer, 8 threads: statements waiting for a lock (mean count, sampled)",
            ["lock", "waiting backends"],
            sorted(waits[8].mean_waiting().items(), key=lambda kv: -kv[1])[:5] or [["-", 0.0]],
        ),
    ]
    write_results("service_layer", mode, data, tables)


if __name__ == "__main__":
    main()
