"""3. HTTP under load, and 6. memory of a web worker afterwards.

gunicorn (sync workers, as many as cores, persistent database connections) serves
flowdesk.wsgi on a throwaway PostgreSQL database. An asyncio + httpx load generator runs 16 and
64 simulated users; each runs the whole release process through the REST API with the tokens
of its own release team (create the ticket; then for each step the handler reads their to-do
list for the ticket and acts: test complete, ops approve, ops complete, QC complete).

In the same run, alternating with the action phases, the *floor*: the same number of users
reading GET /api/v1/tasks/?todo=1 as a user with nothing to do (token check plus one indexed
query). Goals: action throughput >= 40% of the floor's; action p95 <= 3x the floor's p95; no
error. Then the resident memory (VmRSS) of each gunicorn worker; goal < 200 MB.

    .venv/bin/python -m bench.http_load [--full]
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.common import (
    ROOT,
    STEPS,
    SUBMIT,
    bench_database,
    load_people,
    log,
    parse_mode,
    postgres_available,
    rss_mb,
    setup_django,
    skip,
    summary_ms,
    table,
    write_results,
)

NAME = "HTTP under load"
USERS = (16, 64)
PORT = int(os.environ.get("BENCH_HTTP_PORT", "8765"))
BASE = f"http://127.0.0.1:{PORT}"
FLOOR = "/api/v1/tasks/?todo=1"
THROUGHPUT_GOAL, P95_GOAL, MEMORY_GOAL_MB = 0.40, 3.0, 200


class Phase:
    """Latencies and errors of one timed phase."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.perf_counter() + seconds
        self.latency: dict[str, list[float]] = {"action": [], "read": [], "floor": []}
        self.errors: list[str] = []
        self.processes = 0

    @property
    def running(self) -> bool:
        return time.perf_counter() < self.deadline

    async def call(self, client: httpx.AsyncClient, kind: str, token: str, method: str,
                   path: str, body: dict | None = None) -> dict | None:  # fmt: skip
        start = time.perf_counter()
        try:
            response = await client.request(
                method, path, json=body, headers={"Authorization": f"Token {token}"}
            )
        except httpx.HTTPError as exc:
            self.errors.append(f"{method} {path}: {exc!r}")
            return None
        self.latency[kind].append(time.perf_counter() - start)
        if response.status_code >= 300:
            self.errors.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
            return None
        return response.json()


async def release_user(phase: Phase, client: httpx.AsyncClient, team: dict) -> None:
    """One simulated user: release after release until the phase ends."""
    while phase.running:
        ticket = await phase.call(
            client,
            "action",
            team["product"],
            "POST",
            "/api/v1/tickets/",
            {
                "service": "app-release",
                "business": team["business"],
                "title": "Release",
                "fields": SUBMIT,
            },  # fmt: skip
        )
        if ticket is None:
            return
        for role, action, values in STEPS:
            if not phase.running:
                return
            todo = await phase.call(
                client, "read", team[role], "GET", f"{FLOOR}&ticket={ticket['sn']}"
            )
            if not todo or not todo["results"]:
                phase.errors.append(f"{role} has no task on {ticket['sn']}")
                return
            task = todo["results"][0]["id"]
            path = f"/api/v1/tasks/{task}/{action}/"
            if await phase.call(client, "action", team[role], "POST", path, {"fields": values}):
                continue
            return
        phase.processes += 1


async def floor_user(phase: Phase, client: httpx.AsyncClient, token: str) -> None:
    while phase.running and await phase.call(client, "floor", token, "GET", FLOOR) is not None:
        pass


async def run_phase(kind: str, users: int, seconds: float, teams: list[dict], idle: str) -> dict:
    phase = Phase(seconds)
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    async with httpx.AsyncClient(base_url=BASE, limits=limits, timeout=60) as client:
        started = time.perf_counter()
        if kind == "floor":
            jobs = [floor_user(phase, client, idle) for _ in range(users)]
        else:
            jobs = [release_user(phase, client, teams[i]) for i in range(users)]
        await asyncio.gather(*jobs)
        elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "latency": phase.latency,
        "errors": phase.errors,
        "processes": phase.processes,
    }


# --- the server ----------------------------------------------------------------------------------


def start_server(database_url: str, workers: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "FLOWDESK_DB_CONN_MAX_AGE": "600",
        "FLOWDESK_DATA_DIR": str(ROOT / "var" / "bench"),
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "flowdesk.wsgi", f"--workers={workers}", f"--bind=127.0.0.1:{PORT}",
               "--log-level=warning", "--backlog=2048"]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    for _ in range(100):
        try:
            if httpx.get(BASE + FLOOR, timeout=1).status_code == 401:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not answer within 20 s")


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def tokens(teams: list[dict]) -> tuple[list[dict], str]:
    """Raw API tokens for every team member, and for a user with nothing to do."""
    from flowdesk.api.actions import do_create_token
    from flowdesk.directory.actions import do_save_user

    def token(user: object) -> str:
        return do_create_token(user, name="bench", actor=None)[1]

    out = [
        {
            "business": t["business"].key,
            **{r: token(t[r]) for r in ("product", "test", "ops", "QC")},
        }
        for t in teams
    ]
    idle, _ = do_save_user("idle", email="idle@example.com", actor=None)
    return out, token(idle)


# --- the report ----------------------------------------------------------------------------------


def summarise(results: dict[tuple[str, int], list[dict]]) -> tuple[list[list], dict]:
    rows, data = [], {}
    for users in USERS:
        floor, action = results[("floor", users)], results[("action", users)]
        floor_rate = sum(len(r["latency"]["floor"]) for r in floor) / sum(
            r["seconds"] for r in floor
        )
        action_rate = sum(len(r["latency"]["action"]) for r in action) / sum(
            r["seconds"] for r in action
        )
        f = summary_ms([x for r in floor for x in r["latency"]["floor"]])
        a = summary_ms([x for r in action for x in r["latency"]["action"]])
        reads = summary_ms([x for r in action for x in r["latency"]["read"]])
        errors = [e for r in floor + action for e in r["errors"]]
        processes = sum(r["processes"] for r in action) / sum(r["seconds"] for r in action)
        ratio, p95 = action_rate / floor_rate, a["p95_ms"] / f["p95_ms"]
        met = {
            "throughput": ratio >= THROUGHPUT_GOAL,
            "p95": p95 <= P95_GOAL * 1.0,
            "errors": not errors,
        }
        rows += [
            [users, "floor GET", floor_rate, f["p50_ms"], f["p95_ms"], f["p99_ms"], "", ""],
            [users, "to-do read", "", reads["p50_ms"], reads["p95_ms"], reads["p99_ms"], "", ""],
            [users, "action POST", action_rate, a["p50_ms"], a["p95_ms"], a["p99_ms"],
             f"{ratio:.0%} {'met' if met['throughput'] else 'NOT MET'}",
             f"{p95:.1f}x {'met' if met['p95'] else 'NOT MET'}"],
        ]  # fmt: skip
        data[users] = {
            "floor_rps": floor_rate,
            "action_rps": action_rate,
            "processes_per_s": processes,
            "floor": f,
            "action": a,
            "todo_read": reads,
            "throughput_ratio": ratio,
            "p95_ratio": p95,
            "errors": len(errors),
            "error_samples": errors[:5],
            "met": met,
        }
    return rows, data


def main() -> None:
    args = parse_mode(__doc__)
    mode = "full" if args.full else "quick"
    if not postgres_available():
        skip(NAME, "PostgreSQL is not reachable (set BENCH_PG=postgres://user@host:port)")
        return
    seconds, repetitions = (20.0, 2) if args.full else (5.0, 1)
    workers = os.cpu_count() or 1
    with bench_database("flowdesk_bench_http") as url:
        database = setup_django(url)
        teams, idle = tokens(load_people(max(USERS)))
        from django.db import connections

        connections.close_all()
        server = start_server(url, workers)
        try:
            log(f"{NAME}: gunicorn x{workers}, {database}, {repetitions} x {USERS} users…")
            asyncio.run(run_phase("action", 4, 2.0, teams, idle))  # warm up every worker
            results: dict[tuple[str, int], list[dict]] = {}
            for _ in range(repetitions):
                for users in USERS:
                    for kind in ("floor", "action"):
                        outcome = asyncio.run(run_phase(kind, users, seconds, teams, idle))
                        results.setdefault((kind, users), []).append(outcome)
            memory = {pid: rss_mb(pid) for pid in worker_pids(server.pid)}
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    rows, data = summarise(results)
    worst = max(memory.values())
    tables = [
        table(
            f"{NAME}: gunicorn x{workers} sync workers, {database}",
            [
                "users",
                "request",
                "req/s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "action/floor throughput (goal >= 40%)",
                "action/floor p95 (goal <= 3x)",
            ],
            rows,
        ),  # fmt: skip
        table(
            "HTTP: errors (goal: none)",
            ["users", "errors", "completed processes/s", "first error"],
            [
                [u, d["errors"], d["processes_per_s"], (d["error_samples"] or ["-"])[0]]
                for u, d in data.items()
            ],
        ),
        table(
            f"Memory: gunicorn workers after the load (goal < {MEMORY_GOAL_MB} MB each)",
            ["worker pid", "VmRSS MB", "goal"],
            [[pid, mb, mb < MEMORY_GOAL_MB] for pid, mb in memory.items()],
        ),
    ]
    payload = {
        "database": database,
        "workers": workers,
        "seconds_per_phase": seconds,
        "repetitions": repetitions,
        "users": data,
        "worker_rss_mb": memory,
        "memory_met": worst < MEMORY_GOAL_MB,
    }
    write_results("http_load", mode, payload, tables)


if __name__ == "__main__":
    main()
