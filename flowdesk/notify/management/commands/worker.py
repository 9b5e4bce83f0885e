"""`flowdesk worker`: send notifications, fire timers and run automation in the background."""

import logging
import os
import signal
import socket
import time
from types import FrameType

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections
from django_tasks_db.management.commands.db_worker import Worker as DbWorker
from rq import SimpleWorker
from rq.job import Job
from rq.queue import Queue

from flowdesk.worker import Ticker, run_sweeps, stopping

log = logging.getLogger("flowdesk.worker")
LOG_LEVELS = {0: logging.WARNING, 1: logging.INFO}
QUEUE_POLL_SECONDS = 1.0  # how often the database queue is polled for new tasks
MAX_REDIS_PAUSE = 60.0


class Command(BaseCommand):
    help = (
        "Run a background worker: the task queue of the configured backend (database or Redis) "
        "and the periodic sweeps (due deliveries, timers, automation polls). Run as many as you "
        "like, on as many machines. SIGTERM or Ctrl-C finishes the message in hand and stops."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="Run the sweeps once and exit (for cron or tests)."
        )
        parser.add_argument(
            "--worker-id", default=None, help="A name for this worker (default: host-pid)."
        )

    def handle(self, *args, once: bool, worker_id: str | None, verbosity: int, **options) -> None:
        worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}"
        _configure_logging(verbosity, worker_id)
        stopping.clear()
        if once:
            done = run_sweeps()
            self.stdout.write(", ".join(f"{name}: {count}" for name, count in done.items()))
            return
        _install_stop_handlers()  # until the queue worker installs its own
        backend = settings.FLOWDESK_TASKS_BACKEND
        log.info("worker %s starting: %s queue", worker_id, backend)
        ticker = Ticker(settings.FLOWDESK_TICK_SECONDS)
        ticker.start()
        try:
            (_work_redis if backend == "redis" else _work_database)(worker_id)
        finally:
            stopping.set()
            ticker.join(timeout=1)
            if ticker.is_alive():
                log.info("waiting for the sweep in hand to finish (signal again to stop at once)")
                ticker.join()
            log.info("worker %s stopped", worker_id)


def _install_stop_handlers() -> None:
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)


def _stop(signum: int, frame: FrameType | None) -> None:
    stopping.set()
    raise SystemExit(0)


def _configure_logging(verbosity: int, worker_id: str) -> None:
    """One format for our logs, django-tasks' and RQ's (RQ adds no handler when one exists)."""
    logging.basicConfig(
        level=LOG_LEVELS.get(verbosity, logging.DEBUG),
        format=f"%(asctime)s {worker_id} %(levelname)s %(name)s: %(message)s",
    )


def _work_database(worker_id: str) -> None:
    worker = database_worker(worker_id)
    worker.configure_signals()
    worker.run()


def database_worker(worker_id: str, max_tasks: int | None = None) -> "DatabaseQueueWorker":
    """The queue half of a worker on the database backend (priority order across queues)."""
    return DatabaseQueueWorker(
        queue_names=settings.TASK_QUEUES,
        interval=QUEUE_POLL_SECONDS,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=max_tasks,
        worker_id=worker_id[:64],
        excluded_queue_names=[],
    )


def _work_redis(worker_id: str) -> None:
    """Work the RQ queue; while Redis is unreachable, retry with backoff and let the sweeps
    (which need only the database) send what is due meanwhile."""
    from redis.exceptions import RedisError

    pause = 0.5
    while not stopping.is_set():
        started = time.monotonic()
        try:
            worker = redis_worker(worker_id)
            worker.work(logging_level=logging.getLevelName(logging.getLogger().level))
            problem = "the RQ worker stopped (see above)"
        except RedisError as error:
            problem = f"Redis: {error}"
        if stopping.is_set():
            return
        worked_a_while = time.monotonic() - started > MAX_REDIS_PAUSE
        pause = 1.0 if worked_a_while else min(pause * 2, MAX_REDIS_PAUSE)
        log.error("%s; the sweeps go on, retrying in %g s", problem, pause)
        _install_stop_handlers()  # RQ's handlers would talk to the Redis that just failed
        stopping.wait(pause)


def redis_worker(worker_id: str) -> "RedisQueueWorker":
    """The queue half of a worker on the Redis backend: RQ takes its queues in the order given,
    so an automation run goes before any e-mail queued earlier."""
    from django_rq.workers import get_worker

    return get_worker(
        *settings.TASK_QUEUES,
        job_class="django_tasks_rq.Job",
        worker_class=RedisQueueWorker,
        name=worker_id,
    )


class DatabaseQueueWorker(DbWorker):
    """django-tasks-db's worker (run directly: its command, called with `no_reload=True`, gets
    `reload=True` and forks an autoreloader), telling the sweeps and the task in hand when it is
    asked to stop. It finishes the task in hand; a second signal exits at once."""

    def shutdown(self, signum: int, frame: FrameType | None) -> None:
        stopping.set()
        super().shutdown(signum, frame)


class RedisQueueWorker(SimpleWorker):
    """RQ's worker without fork: jobs run in this process. RQ's default worker forks a child per
    job, and forking a process that runs a ticker thread can deadlock the child on a lock the
    thread held. On SIGTERM it finishes the job in hand (warm shutdown)."""

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        stopping.set()
        super().request_stop(signum, frame)

    def execute_job(self, job: Job, queue: Queue) -> None:
        # A long-lived process: drop a connection the database has closed, as a request would.
        close_old_connections()
        try:
            super().execute_job(job, queue)
        finally:
            close_old_connections()
