"""What every benchmark shares: the machine, percentiles, tables, JSON results and a throwaway
PostgreSQL database for the Django-side benchmarks."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
EXAMPLE = ROOT / "examples" / "app-release.yaml"
# The server the Django benchmarks create their databases on (never the app's own database).
PG_SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
PACKAGES = ("django", "psycopg", "djangorestframework", "spiffworkflow", "gunicorn", "httpx")

# The seed scenario's values (as tests/tickets/test_release_scenario.py), for every benchmark.
SUBMIT = {
    "package_url": "https://artifacts.example.com/game-a/server-2.4.1.tar.gz",
    "package_md5": "9e107d9d372bb6826bd81d3542a419d6",
    "release_scope": "All game-a servers in region east",
    "planned_at": "2026-11-28T02:00:00+08:00",
}
TEST_PASS = {"test_assessment": "low_risk", "test_result": "pass", "test_summary": "All green"}
TEST_FAIL = {"test_assessment": "high_risk", "test_result": "fail", "test_summary": "Crash"}
RELEASE = {"release_summary": "Rolled out to 48 servers"}
QC = {"qc_result": "good", "qc_summary": "No incidents linked"}
# After the submit: (role of the actor, action, values).
STEPS = [
    ("test", "complete", TEST_PASS),
    ("ops", "approve", {}),
    ("ops", "complete", RELEASE),
    ("QC", "complete", QC),
]


# The package the demo release's checksum step downloads (served by `package_server`).
PACKAGE = ROOT / "flowdesk" / "demo" / "static" / "demo" / "packages" / "game-a-server-2.4.1.tar.gz"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # one line per download would drown the tables
        pass


@contextmanager
def package_server() -> Iterator[dict[str, str]]:
    """Serve the demo package on a free local port, for as long as the block runs; yields the
    submit values (SUBMIT) with its URL and real MD5, so the checksum step passes."""
    handler = partial(_QuietHandler, directory=str(PACKAGE.parent))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield {
            **SUBMIT,
            "package_url": f"http://127.0.0.1:{server.server_port}/{PACKAGE.name}",
            "package_md5": hashlib.md5(PACKAGE.read_bytes()).hexdigest(),
        }
    finally:
        server.shutdown()
        server.server_close()


def parse_mode(description: str) -> argparse.Namespace:
    """`--full` for the long run behind `make bench-full`; the default is the quick one."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--full", action="store_true", help="long run (make bench-full)")
    return parser.parse_args()


# --- the machine --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    meminfo = Path("/proc/meminfo")
    memory = None
    if meminfo.exists():
        total_kb = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        memory = f"{total_kb / 2**20:.1f} GiB"
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cores": os.cpu_count(),
        "memory": memory,
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "os": platform.platform(),
        "versions": versions,
    }


def _cpu_model() -> str | None:
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        return platform.processor() or None
    for line in cpuinfo.read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return None


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc/<pid>/status (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far (user + system), from /proc/<pid>/stat."""
    # The command name (field 2) may hold spaces; the fields after its ")" are fixed.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- numbers and tables -------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/mean in milliseconds."""
    return {
        "n": len(seconds),
        "p50_ms": percentile(seconds, 50) * 1000,
        "p95_ms": percentile(seconds, 95) * 1000,
        "p99_ms": percentile(seconds, 99) * 1000,
        "mean_ms": statistics.fmean(seconds) * 1000,
    }


def timed(func: Callable[[], Any]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def fmt(value: Any) -> str:
    if isinstance(value, float):
        if value == 0 or abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    if isinstance(value, bool):
        return "met" if value else "NOT MET"
    return str(value)


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (readable in a terminal, pasteable into docs/benchmarks.md)."""
    cells = [[fmt(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells
    ]
    text = "\n".join([f"\n### {title}\n", line, rule, *body, ""])
    print(text, flush=True)
    return text


def write_results(name: str, mode: str, data: dict[str, Any], tables: list[str]) -> Path:
    """bench/results/<name>.json (and .md with the printed tables), stamped with the machine."""
    RESULTS.mkdir(exist_ok=True)
    stamp = {
        "benchmark": name,
        "mode": mode,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    payload = {**stamp, "machine": machine(), **data}
    path = RESULTS / f"{name}-{mode}.json"
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    header = f"{name} ({mode}) – {stamp['date']} – {_machine_line(payload)}\n"
    (RESULTS / f"{name}-{mode}.md").write_text(header + "\n".join(tables))
    print(f"results: {path.relative_to(ROOT)}")
    return path


def _machine_line(payload: dict[str, Any]) -> str:
    m = payload["machine"]
    db = payload.get("database")
    return f"{m['cores']} cores, {m['memory']}, {m['cpu']}" + (f", {db}" if db else "")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- PostgreSQL ---------------------------------------------------------------------------------


def postgres_available() -> bool:
    try:
        import psycopg

        psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=3).close()
    except Exception as exc:  # no server, no driver, refused: all mean "skip"
        log(f"PostgreSQL not reachable at {PG_SERVER} ({exc.__class__.__name__})")
        return False
    return True


def skip(name: str, why: str) -> None:
    print(f"\n### {name}: SKIPPED – {why}\n", flush=True)


@contextmanager
def bench_database(name: str, *, keep: bool = False) -> Iterator[str]:
    """A fresh database `name` on the bench server; yields its URL, drops it afterwards."""
    import psycopg

    admin = f"{PG_SERVER}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        if not keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(database_url: str) -> str:
    """Point Django at `database_url`, migrate it, and return the server's version line."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowdesk.settings")
    os.environ.setdefault("FLOWDESK_DATA_DIR", str(ROOT / "var" / "bench"))
    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return f"PostgreSQL {cursor.fetchone()[0]}"


# --- people for the Django benchmarks -----------------------------------------------------------

ROLES = ("product", "test", "ops", "QC")


def load_people(count: int) -> list[dict]:
    """The demo scenario, plus `count` release teams: team i has its own business bench-i with
    pm_i (product), test_i (test), ops_i (ops), and qc_i in the general role QC. Built through
    the directory actions. Returns [{role: user}, ...] and the release service as "service"."""
    from django.conf import settings

    from flowdesk.catalog.models import Service
    from flowdesk.demo.loader import load_demo
    from flowdesk.directory.actions import do_add_role_member, do_save_business, do_save_user
    from flowdesk.directory.models import Role

    # Nobody logs in with a password here; real hashing would only slow the set-up.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    load_demo("bench-password")
    service = Service.objects.get(key="app-release")
    roles = {role.key: role for role in Role.objects.filter(key__in=ROLES)}
    teams = []
    for i in range(count):
        business, _ = do_save_business(f"bench-{i}", name=f"Bench {i}", actor=None)
        team = {"business": business, "service": service}
        for role, prefix in zip(ROLES, ("pm", "test", "ops", "qc"), strict=True):
            user, _ = do_save_user(f"{prefix}_{i}", email=f"{prefix}_{i}@example.com", actor=None)
            scope = None if role == "QC" else business
            do_add_role_member(roles[role], user, business=scope, actor=None)
            team[role] = user
        teams.append(team)
    return teams


class LockWaits:
    """Samples, while running, which statements wait for a lock (pg_stat_activity), to tell a
    contended row from a busy machine. Use as a context manager."""

    QUERY = """
        SELECT wait_event, query FROM pg_stat_activity
        WHERE wait_event_type = 'Lock' AND datname = current_database()
    """

    def __init__(self, database_url: str, interval: float = 0.02) -> None:
        self.url, self.interval = database_url, interval
        self.samples = 0
        self.waits: dict[str, int] = {}

    def __enter__(self) -> LockWaits:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.wait(self.interval):
                self.samples += 1
                for event, query in conn.execute(self.QUERY).fetchall():
                    table = re.search(r'(?:FROM|UPDATE|INTO) "(\w+)"', query)
                    key = f"{event} on {table[1] if table else query[:40]}"
                    self.waits[key] = self.waits.get(key, 0) + 1

    def mean_waiting(self) -> dict[str, float]:
        """Average number of backends waiting, per lock kind, over the samples."""
        return {k: v / max(1, self.samples) for k, v in sorted(self.waits.items())}
