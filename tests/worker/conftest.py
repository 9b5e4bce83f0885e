"""Fixtures for the process-level worker tests: a database of their own, an SMTP server in the
test process, Redis, and `flowdesk worker` processes.

The workers are real processes (`.venv/bin/flowdesk worker`), so they cannot share
pytest-django's test database (SQLite's is in memory). The session gets a database of its own,
migrated by `flowdesk migrate` and set up by tests/worker/driver.py, both in subprocesses: on
SQLite a file in a temporary directory (in /dev/shm when there is one: every SQLite commit waits
for the disk, which makes these tests several times slower without changing what they show), on
PostgreSQL (DATABASE_URL) a database named `test_<name>_worker` on the same server, dropped at
the end. The test process only reads it back through the driver, so the same code runs on both.
"""

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from aiosmtpd.controller import Controller

from flowdesk.notify.email import DELIVERY_HEADER

ROOT = Path(__file__).resolve().parents[2]
FLOWDESK = str(Path(sys.executable).parent / "flowdesk")
REDIS_URL = "redis://127.0.0.1:6379/14"  # a database number of its own, flushed by the tests
REDIS_DOWN = (
    "the Redis tests need Redis at 127.0.0.1:6379 (.ci/run starts it): "
    'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'
)


def wait_until(
    condition: Callable[[], object],
    timeout: float,
    what: str,
    details: Callable[[], str] = str,
) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds, with
    `details()` (e.g. the workers' logs) as they are then."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}\n{details()}")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Site:
    """The workers' database and the environment every subprocess runs with."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def driver(self, *args: str, env: dict[str, str] | None = None) -> object:
        """Run a tests/worker/driver.py command; returns what it printed (JSON)."""
        done = subprocess.run(
            [sys.executable, "-m", "tests.worker.driver", *args],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode:
            raise AssertionError(f"driver {' '.join(args)} failed:\n{done.stderr}")
        return json.loads(done.stdout.splitlines()[-1])

    def sent(self) -> set[str]:
        return {key for key, row in self.driver("deliveries").items() if row["status"] == "sent"}

    def unsent(self) -> str:
        """The deliveries not sent yet, with their attempts and last error (for a failure)."""
        rows = self.driver("deliveries").items()
        return "\n".join(f"{key}: {row}" for key, row in rows if row["status"] != "sent")


@contextmanager
def _database() -> Iterator[str]:
    """A URL for a new, empty database of the configured kind (see the module docstring)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        memory = "/dev/shm" if os.path.isdir("/dev/shm") else None
        with tempfile.TemporaryDirectory(dir=memory, prefix="flowdesk-worker-") as folder:
            yield f"sqlite:///{folder}/flowdesk.sqlite3"
        return
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = f"test_{parts.path.lstrip('/')}_worker{os.environ.get('PYTEST_XDIST_WORKER', '')}"
    server = parts._replace(path="/postgres").geturl()

    def run(statement: str) -> None:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(sql.SQL(statement).format(sql.Identifier(name)))

    run("DROP DATABASE IF EXISTS {} WITH (FORCE)")
    run("CREATE DATABASE {}")
    try:
        yield parts._replace(path=f"/{name}").geturl()
    finally:
        run("DROP DATABASE IF EXISTS {} WITH (FORCE)")


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("worker-site")
    with _database() as url:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "flowdesk.settings",
            "FLOWDESK_DATA_DIR": str(folder / "data"),
            "FLOWDESK_SECRET_KEY": "worker-tests",
            "FLOWDESK_TASKS_BACKEND": "database",
            "FLOWDESK_TICK_SECONDS": "0.5",
            "FLOWDESK_EMAIL_TIMEOUT": "2",
            "PYTHONUNBUFFERED": "1",
        }
        migrate = [FLOWDESK, "migrate", "--no-input", "-v0"]
        subprocess.run(migrate, env=env, check=True, timeout=300)
        site = Site(env)
        site.driver("setup")
        yield site


@pytest.fixture(autouse=True)
def empty_outbox(request: pytest.FixtureRequest) -> None:
    """Each process test starts from an empty outbox (in-process tests use pytest-django's)."""
    if "site" in request.fixturenames:
        request.getfixturevalue("site").driver("reset")


class Inbox:
    """A mail server's handler that keeps every message it accepts. `delay` makes it slow
    before the message is sent (at RCPT): a worker killed there has not delivered it."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.env: dict[str, str] = {}  # what points a worker at this server
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def keys(self) -> list[str]:
        with self._lock:
            return [message[DELIVERY_HEADER] for message in self.messages]


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.env = {"FLOWDESK_EMAIL_HOST": "127.0.0.1", "FLOWDESK_EMAIL_PORT": str(controller.port)}
    yield handler
    controller.stop()


@pytest.fixture
def redis_url() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail(REDIS_DOWN)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()


@pytest.fixture(params=["database", "redis"])
def backend(request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment that selects each task backend in turn."""
    if request.param == "database":
        return {"FLOWDESK_TASKS_BACKEND": "database"}
    url = request.getfixturevalue("redis_url")
    return {"FLOWDESK_TASKS_BACKEND": "redis", "FLOWDESK_REDIS_URL": url}


class Worker:
    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name, self.log_path = name, log
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [FLOWDESK, "worker", "--worker-id", name],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_ready(self, timeout: float = 60) -> None:
        """Until its first sweep and its queue worker have started."""
        ready = ("Starting worker", "Listening on")
        wait_until(
            lambda: "sweeps every" in self.log() and any(text in self.log() for text in ready),
            timeout,
            f"worker {self.name} to start",
            self.log,
        )


class Workers:
    """Starts `flowdesk worker` processes; kills whatever is left at the end of the test."""

    def __init__(self, site: Site, folder: Path) -> None:
        self.site, self.folder = site, folder
        self.started: list[Worker] = []

    def start(self, name: str, **env: str) -> Worker:
        worker = Worker(name, {**self.site.env, **env}, self.folder / f"{name}.log")
        self.started.append(worker)
        return worker

    def logs(self) -> str:
        return "\n".join(f"--- {w.name}\n{w.log()}" for w in self.started)

    def kill_all(self) -> None:
        for worker in self.started:
            if worker.process.poll() is None:
                worker.process.kill()
            worker.process.wait()


@pytest.fixture
def workers(site: Site, tmp_path: Path) -> Iterator[Workers]:
    started = Workers(site, tmp_path)
    yield started
    started.kill_all()
