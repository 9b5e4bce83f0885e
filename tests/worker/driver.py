"""Set-up and read-back for the worker tests, run in a subprocess against the worker's database:

    python -m tests.worker.driver COMMAND [ARG...]   (prints the result as JSON)

The tests run `flowdesk worker` as real processes, which cannot see pytest-django's test
database (SQLite's is in memory), so the tests give the workers and this driver a database of
their own (DATABASE_URL) and never touch it in the test process. Set-up goes through the public
doors: users, a workflow and a ticket through the actions, deliveries through notify().
"""

import json
import os
import sys
from collections.abc import Callable

import django

TITLE = "worker test"
RECIPIENTS = 5
TIMED = "worker-timed"
# What fires on a ticket of the timed workflow, once each: the timer step, then the SLA of the
# step after it (warning at half of its 2 s, breach escalated to reader1).
FIRED_EVENTS = ("timer_fired", "sla_warning", "sla_breach")


def setup() -> dict:
    """Recipients and one ticket on a one-step workflow (run once per database)."""
    from flowdesk.directory.actions import do_save_user
    from flowdesk.tickets.actions import do_submit_ticket
    from tests.factories import deploy_service, global_workflow

    for n in range(RECIPIENTS):
        do_save_user(f"reader{n}", email=f"reader{n}@example.com", actor=None)
    requester, _ = do_save_user("requester", email="requester@example.com", actor=None)
    work = {"id": "work", "type": "task", "name": "Work", "operators": [{"type": "requester"}]}
    document = global_workflow(
        "worker-test",
        nodes=[work],
        transitions=[{"from": "submit", "to": "work"}, {"from": "work", "to": "done"}],
    )
    service = deploy_service(document)
    do_submit_ticket(service, actor=requester, title=TITLE, values={})
    wait = {"id": "wait", "type": "timer", "name": "Wait", "timer": {"after": "1s"}}
    sla = {"due": "2s", "warn_at": 50, "escalate_to": [{"type": "users", "users": ["reader1"]}]}
    review = {"id": "review", "type": "task", "name": "Review", "sla": sla}
    review["operators"] = [{"type": "users", "users": ["reader0"]}]
    steps = ["submit", "wait", "review", "done"]
    timed = global_workflow(
        TIMED,
        nodes=[wait, review],
        transitions=[{"from": a, "to": b} for a, b in zip(steps, steps[1:], strict=False)],
    )
    deploy_service(timed)
    return reset()


def reset() -> dict:
    """Forget every delivery, queued task and timed ticket (with its timers), so each test
    starts from an empty outbox and nothing left from another test fires."""
    from django_tasks_db.models import DBTaskResult

    from flowdesk.notify.models import Delivery
    from flowdesk.tickets.models import Ticket

    deleted = Ticket.objects.filter(service__key=TIMED).delete()[0]
    deleted += Delivery.objects.all().delete()[0] + DBTaskResult.objects.all().delete()[0]
    return {"deleted": deleted}


def enqueue(count: str, prefix: str) -> list[str]:
    """`count` e-mails, each recorded by its own transaction (as `count` actions would);
    returns their idempotency keys."""
    from django.db import transaction

    keys = []
    for n in range(int(count)):
        with transaction.atomic():
            keys += [row.key for row in _notify(f"{prefix}{n}", n)]
    return keys


def timed_tickets(count: str, prefix: str) -> list[str]:
    """`count` tickets of the timed workflow, submitted by the requester; their titles."""
    from django.contrib.auth import get_user_model

    from flowdesk.catalog.models import Service
    from flowdesk.tickets.actions import do_submit_ticket

    service = Service.objects.get(key=TIMED)
    requester = get_user_model().objects.get(username="requester")
    titles = [f"{prefix}{n}" for n in range(int(count))]
    for title in titles:
        do_submit_ticket(service, actor=requester, title=title, values={})
    return titles


def fired() -> dict:
    """How many timers are still waiting, and how often each timed ticket's events happened."""
    from collections import Counter

    from flowdesk.sla.models import Timer
    from flowdesk.tickets.models import Event

    events = Event.objects.filter(ticket__service__key=TIMED, kind__in=FIRED_EVENTS)
    counts = Counter(events.values_list("ticket__title", "kind"))
    return {
        "waiting": Timer.objects.filter(status=Timer.Status.PENDING).count(),
        "events": {f"{title} {kind}": n for (title, kind), n in counts.items()},
    }


def commit_check() -> dict:
    """How many tasks the queue holds inside the recording transaction, after its commit, and
    after a transaction that rolled back (with its deliveries)."""
    from django.db import transaction

    from flowdesk.notify.models import Delivery

    seen = {"before": _queued()}
    with transaction.atomic():
        _notify("commit-check", 0)
        seen["inside"] = _queued()
    seen["after_commit"] = _queued()
    try:
        with transaction.atomic():
            _notify("rollback-check", 0)
            raise _RolledBack
    except _RolledBack:
        pass
    seen["after_rollback"] = _queued()
    seen["rolled_back_rows"] = Delivery.objects.filter(key__contains="rollback-check").count()
    return seen


def deliveries() -> dict:
    """Every delivery: key → status, attempts, and whether it is leased now."""
    from django.utils import timezone

    from flowdesk.notify.models import Delivery

    now = timezone.now()
    return {
        row.key: {
            "status": row.status,
            "attempts": row.attempts,
            "leased": row.leased_until is not None and row.leased_until > now,
            "error": row.last_error,
        }
        for row in Delivery.objects.all()
    }


def tasks_done() -> int:
    """How many queue tasks the database backend has run successfully."""
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(status="SUCCESSFUL").count()


def first_task() -> str:
    """Queue an e-mail task, then an automation run; let one worker (as `flowdesk worker` builds
    it, without its sweeps) run one task; the name of the task it ran."""
    from django.conf import settings

    from flowdesk.automation.tasks import enqueue_run
    from flowdesk.notify.management.commands import worker
    from flowdesk.notify.tasks import send_deliveries

    send_deliveries.enqueue([])  # nothing to send: only its place in the queue matters
    enqueue_run(0)  # no such run: the task finds nothing to do
    if settings.FLOWDESK_TASKS_BACKEND == "redis":
        import django_rq

        worker.redis_worker("first-task").work(burst=True, max_jobs=1)
        left = [
            job.func_name for name in settings.TASK_QUEUES for job in django_rq.get_queue(name).jobs
        ]
        (ran,) = {
            "flowdesk.notify.tasks.send_deliveries",
            "flowdesk.automation.tasks.run_automation",
        } - set(left)
        return ran.rsplit(".", 1)[-1]
    from django_tasks_db.models import DBTaskResult

    worker.database_worker("first-task", max_tasks=1).run()
    return DBTaskResult.objects.successful().get().task_path.rsplit(".", 1)[-1]


class _RolledBack(Exception):
    pass


def _notify(key: str, n: int) -> list:
    from flowdesk.notify.rules import notify
    from flowdesk.tickets.models import Ticket

    ticket = Ticket.objects.get(title=TITLE)
    return notify(ticket, "urged", [f"reader{n % RECIPIENTS}"], node="work", key=key)


def _queued() -> int:
    from django.conf import settings

    if settings.FLOWDESK_TASKS_BACKEND == "redis":
        import django_rq

        return django_rq.get_queue("default").count
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.count()


COMMANDS: dict[str, Callable[..., object]] = {
    "setup": setup,
    "reset": reset,
    "enqueue": enqueue,
    "commit-check": commit_check,
    "deliveries": deliveries,
    "timed-tickets": timed_tickets,
    "fired": fired,
    "tasks-done": tasks_done,
    "first-task": first_task,
}

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowdesk.settings")
    django.setup()
    command, *args = sys.argv[1:]
    print(json.dumps(COMMANDS[command](*args)))
