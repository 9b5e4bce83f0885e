"""`flowdesk worker`: send notifications, fire timers and run automation in the background."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from flowdesk.worker import Ticker, run_sweeps


class Command(BaseCommand):
    help = (
        "Run a background worker: the task queue of the configured backend (database or Redis) "
        "and the periodic sweeps (due deliveries, timers, automation polls). Run as many as you "
        "like, on as many machines."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="Run the sweeps once and exit (for cron or tests)."
        )
        parser.add_argument("--worker-id", default=None, help="A name for this worker's logs.")

    def handle(self, *args, once: bool, worker_id: str | None, **options) -> None:
        if once:
            done = run_sweeps()
            self.stdout.write(", ".join(f"{name}: {count}" for name, count in done.items()))
            return
        ticker = Ticker(settings.FLOWDESK_TICK_SECONDS)
        ticker.start()
        try:
            self._run_queue(worker_id, options["verbosity"])
        finally:
            ticker.stop()

    def _run_queue(self, worker_id: str | None, verbosity: int) -> None:
        if settings.FLOWDESK_TASKS_BACKEND == "redis":
            extra = {"name": worker_id} if worker_id else {}
            call_command(
                "rqworker", "default", job_class="django_tasks_rq.Job", verbosity=verbosity, **extra
            )
            return
        extra = {"worker_id": worker_id} if worker_id else {}
        call_command(
            "db_worker",
            no_startup_delay=True,
            no_reload=True,
            interval=settings.FLOWDESK_TICK_SECONDS,
            verbosity=verbosity,
            **extra,
        )
