"""3. HTTP under load, and 6. memory of a web worker afterwards.

gunicorn (sync workers, as many as cores, persistent database connections) serves
flowdesk.wsgi on a throwaway PostgreSQL database, and one `flowdesk worker` (database queue)
runs beside it the checksum step that follows every submit: it downloads the release package,
served from this process with its real MD5. An asyncio + httpx load generator runs 16 and 64
simulated users; each runs the whole release process through the REST API with the tokens of
its own release team (create the ticket; then for each step the handler reads their to-do list
for the ticket and acts: test complete, ops approve, ops complete, QC complete). The tester
reads their to-do list every POLL_SECONDS until the worker has handed the ticket over; that
wait is reported on its own row, apart from the action latencies. Before every phase the bench
waits until the worker has no automation run or delivery left, so a phase never pays for the
previous one's work.

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
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import (
    ROOT,
    STEPS,
    bench_database,
    cpu_seconds,
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

NAME = "HTTP under load"
USERS = (16, 64)
PORT = int(os.environ.get("BENCH_HTTP_PORT", "8765"))
BASE = f"http://127.0.0.1:{PORT}"
FLOOR = "/api/v1/tasks/?todo=1"
THROUGHPUT_GOAL, P95_GOAL, MEMORY_GOAL_MB = 0.40, 3.0, 200
POLL_SECONDS = 0.5  # how often the tester looks for the ticket after the checksum step
HANDOVER_TIMEOUT = 180.0  # submit -> tester's task, beyond which the release counts as lost
IDLE_TIMEOUT = 300.0  # for the worker to finish what a phase left
FLOWDESK = str(Path(sys.executable).with_name("flowdesk"))


class Phase:
    """Latencies and errors of one timed phase."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.perf_counter() + seconds
        self.latency: dict[str, list[float]] = {
            "action": [],
            "read": [],
            "floor": [],
            "poll": [],  # the tester's repeated to-do reads while the worker checks
            "handover": [],  # submit answered -> tester's task seen
        }
        self.errors: list[str] = []
        self.processes = 0
        self.handovers_cut = 0  # tester still waiting when the phase ended

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


async def release_user(phase: Phase, client: httpx.AsyncClient, team: dict, submit: dict) -> None:
    """One simulated user: release after release until the phase ends."""
    while phase.running:
        body = {"service": "app-release", "business": team["business"], "title": "Release",
                "fields": submit}  # fmt: skip
        ticket = await phase.call(
            client, "action", team["product"], "POST", "/api/v1/tickets/", body
        )
        if ticket is None:
            return
        submitted = time.perf_counter()
        for i, (role, action, values) in enumerate(STEPS):
            if not phase.running:
                return
            # The first step follows the checksum step, which the worker runs meanwhile.
            task = await next_task(phase, client, team[role], ticket["sn"], wait=i == 0)
            if task is None:
                return
            if i == 0:
                phase.latency["handover"].append(time.perf_counter() - submitted)
            path = f"/api/v1/tasks/{task}/{action}/"
            if not await phase.call(client, "action", team[role], "POST", path, {"fields": values}):
                return
        phase.processes += 1


async def next_task(
    phase: Phase,
    client: httpx.AsyncClient,
    token: str,
    sn: str,
    *,
    wait: bool,
    stop_at_phase_end: bool = True,
) -> int | None:
    """The user's open task on the ticket (their to-do list). With `wait`, look again every
    POLL_SECONDS while a worker runs the automation step in front of it; None (an error unless
    the phase ended meanwhile and `stop_at_phase_end`) when there is none."""
    deadline = time.perf_counter() + HANDOVER_TIMEOUT
    kind, path = "read", f"{FLOOR}&ticket={sn}"
    while (todo := await phase.call(client, kind, token, "GET", path)) is not None:
        if todo["results"]:
            return todo["results"][0]["id"]
        if not wait:
            phase.errors.append(f"no task on {sn} for the next step")
            return None
        if stop_at_phase_end and not phase.running:
            phase.handovers_cut += 1
            return None
        if time.perf_counter() > deadline:
            phase.errors.append(f"no task on {sn} {HANDOVER_TIMEOUT:g} s after the submit")
            return None
        kind = "poll"
        await asyncio.sleep(POLL_SECONDS)
    return None


async def floor_user(phase: Phase, client: httpx.AsyncClient, token: str) -> None:
    while phase.running and await phase.call(client, "floor", token, "GET", FLOOR) is not None:
        pass


async def run_phase(
    kind: str, users: int, seconds: float, teams: list[dict], idle: str, submit: dict
) -> dict:
    phase = Phase(seconds)
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    async with httpx.AsyncClient(base_url=BASE, limits=limits, timeout=60) as client:
        started = time.perf_counter()
        if kind == "floor":
            jobs = [floor_user(phase, client, idle) for _ in range(users)]
        else:
            jobs = [release_user(phase, client, teams[i], submit) for i in range(users)]
        await asyncio.gather(*jobs)
        elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "latency": phase.latency,
        "errors": phase.errors,
        "processes": phase.processes,
        "handovers_cut": phase.handovers_cut,
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


def start_worker(log_file: Path) -> subprocess.Popen:
    """One `flowdesk worker` on the database queue (environment: os.environ), logging to
    `log_file` (its console e-mails go nowhere); returns once it sweeps and polls the queue."""
    with log_file.open("w") as out:
        worker = subprocess.Popen(
            [FLOWDESK, "worker", "--worker-id", "bench-http"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=out,
            stdin=subprocess.DEVNULL,
        )
    deadline = time.monotonic() + 60
    while not ("sweeps every" in (text := log_file.read_text()) and "Starting worker" in text):
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            raise RuntimeError(f"flowdesk worker did not start; its log:\n{text}")
        time.sleep(0.2)
    return worker


def wait_worker_idle() -> None:
    """Until the worker has no automation run open and no delivery pending (what the last phase
    left), so that the next phase does not share the machine with it."""
    from django.db import connections

    from flowdesk.automation.models import AutomationRun
    from flowdesk.notify.models import Delivery

    deadline = time.monotonic() + IDLE_TIMEOUT
    while (
        AutomationRun.objects.filter(status__in=AutomationRun.OPEN).exists()
        or Delivery.objects.filter(status=Delivery.Status.PENDING).exists()
    ):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the worker still had work {IDLE_TIMEOUT:g} s after a phase")
        time.sleep(0.5)
    connections.close_all()


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


REQUEST_KINDS = ("floor", "action", "read", "poll")  # every request a phase sends, by latency row


def cpu_rows(results: dict[tuple[str, int], list[dict]]) -> tuple[list[list], dict]:
    """Where the CPU went: per request of each phase, and per action with the to-do reads that
    come with it (the share of the server an action takes, which bounds the throughput ratio)."""
    rows, data = [], {}
    for users in USERS:
        spent, per = {}, {}
        for kind in ("floor", "action"):
            runs = results[(kind, users)]
            cpu = {name: sum(r["cpu"][name] for r in runs) * 1000 for name in runs[0]["cpu"]}
            counts = {k: sum(len(r["latency"][k]) for r in runs) for k in REQUEST_KINDS}
            requests = sum(counts.values())
            spent[kind] = {"cpu_ms": cpu, "requests": counts}
            per[kind] = cpu["web"] / (counts["floor"] if kind == "floor" else counts["action"])
            rows.append([
                users, kind, requests, cpu["web"] / requests,
                per[kind] if kind == "action" else "",
                cpu["worker"] / counts["action"] if kind == "action" else "",
                cpu["load"] / requests,
                f"{per['floor'] / per['action']:.0%}" if kind == "action" else "",
            ])  # fmt: skip
        data[users] = {**spent, "web_cpu_ratio": per["floor"] / per["action"]}
    return rows, data


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
        handover = summary_ms([x for r in action for x in r["latency"]["handover"]])
        polls = sum(len(r["latency"]["poll"]) for r in action)
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
            [users, "wait: submit -> tester's task", "", handover["p50_ms"], handover["p95_ms"],
             handover["p99_ms"], "", ""],
        ]  # fmt: skip
        data[users] = {
            "floor_rps": floor_rate,
            "action_rps": action_rate,
            "processes_per_s": processes,
            "floor": f,
            "action": a,
            "todo_read": reads,
            "handover_wait": handover,
            "handovers_cut": sum(r["handovers_cut"] for r in action),
            "tester_polls": polls,
            "throughput_ratio": ratio,
            "p95_ratio": p95,
            "errors": len(errors),
            "error_samples": errors[:5],
            "met": met,
        }
    return rows, data


def load(
    seconds: float,
    repetitions: int,
    teams: list[dict],
    idle: str,
    submit: dict,
    pids: dict[str, list[int]],
) -> dict[tuple[str, int], list[dict]]:
    """The phases, floor and action alternating; each starts once the worker is idle. Each
    phase also records the CPU seconds used by each kind of process in `pids`, until the
    worker has sent what the phase caused."""
    asyncio.run(run_phase("action", 4, 2.0, teams, idle, submit))  # warm up every worker
    wait_worker_idle()
    results: dict[tuple[str, int], list[dict]] = {}
    for _ in range(repetitions):
        for users in USERS:
            for kind in ("floor", "action"):
                before = cpu_by_kind(pids)
                outcome = asyncio.run(run_phase(kind, users, seconds, teams, idle, submit))
                wait_worker_idle()
                after = cpu_by_kind(pids)
                outcome["cpu"] = {name: after[name] - before[name] for name in pids}
                results.setdefault((kind, users), []).append(outcome)
    return results


def cpu_by_kind(pids: dict[str, list[int]]) -> dict[str, float]:
    return {name: sum(cpu_seconds(pid) for pid in group) for name, group in pids.items()}


def main() -> None:
    args = parse_mode(__doc__)
    mode = "full" if args.full else "quick"
    if not postgres_available():
        skip(NAME, "PostgreSQL is not reachable (set BENCH_PG=postgres://user@host:port)")
        return
    seconds, repetitions = (20.0, 2) if args.full else (5.0, 1)
    workers = os.cpu_count() or 1
    os.environ["FLOWDESK_TASKS_BACKEND"] = "database"  # read by gunicorn and the worker alike
    with (
        bench_database("flowdesk_bench_http") as url,
        package_server() as submit,
        tempfile.TemporaryDirectory(prefix="flowdesk-bench-") as folder,
    ):
        database = setup_django(url)
        teams, idle = tokens(load_people(max(USERS)))
        from django.db import connections

        connections.close_all()
        task_worker = start_worker(Path(folder) / "worker.log")
        try:
            server = start_server(url, workers)
            try:
                log(f"{NAME}: gunicorn x{workers}, 1 task worker, {database}, "
                    f"{repetitions} x {USERS} users…")  # fmt: skip
                pids = {
                    "web": worker_pids(server.pid),
                    "worker": [task_worker.pid],
                    "load": [os.getpid()],
                }
                results = load(seconds, repetitions, teams, idle, submit, pids)
                memory = {pid: rss_mb(pid) for pid in worker_pids(server.pid)}
                worker_memory = rss_mb(task_worker.pid)
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=30)
        finally:
            task_worker.send_signal(signal.SIGTERM)
            task_worker.wait(timeout=60)
    rows, data = summarise(results)
    cpu_table, cpu = cpu_rows(results)
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
            [
                "users",
                "errors",
                "completed processes/s",
                "tester's extra to-do reads while waiting",
                "tester's tasks seen",
                "waits cut by the phase end",
                "first error",
            ],
            [
                [
                    u,
                    d["errors"],
                    d["processes_per_s"],
                    d["tester_polls"],
                    d["handover_wait"]["n"],
                    d["handovers_cut"],
                    (d["error_samples"] or ["-"])[0],
                ]
                for u, d in data.items()
            ],
        ),
        table(
            "HTTP: CPU time per request (ms), by process, in the same phases",
            [
                "users",
                "phase",
                "requests",
                "web CPU per request",
                "web CPU per action, its reads included",
                "task worker CPU per action",
                "load generator CPU per request",
                "floor / action web CPU",
            ],
            cpu_table,
        ),
        table(
            f"Memory after the load (goal < {MEMORY_GOAL_MB} MB each)",
            ["process", "pid", "VmRSS MB", "goal"],
            [
                *[
                    ["web worker (gunicorn)", pid, mb, mb < MEMORY_GOAL_MB]
                    for pid, mb in memory.items()
                ],
                ["task worker", task_worker.pid, worker_memory, worker_memory < MEMORY_GOAL_MB],
            ],  # fmt: skip
        ),
    ]
    payload = {
        "database": database,
        "workers": workers,
        "seconds_per_phase": seconds,
        "repetitions": repetitions,
        "users": data,
        "cpu": cpu,
        "worker_rss_mb": memory,
        "task_worker_rss_mb": worker_memory,
        "memory_met": worst < MEMORY_GOAL_MB,
    }
    write_results("http_load", mode, payload, tables)


if __name__ == "__main__":
    main()
