"""Background tasks (Django's tasks API through the django-tasks backport)."""

from django_tasks import task
from django_tasks.base import TASK_MAX_PRIORITY

from flowdesk.automation import runner

QUEUE = "automation"


@task(queue_name=QUEUE)
def run_automation(run_id: int) -> int:
    """Work on the run now (enqueued when its step opens or is retried, after the commit)."""
    return runner.run_claimed([run_id])


def enqueue_run(run_id: int) -> None:
    """Put the run ahead of queued e-mails: a ticket waits on its step, a mail can wait a moment.
    A backend that orders by priority (the database queue) gets the highest; RQ has none, so
    its workers listen to the automation queue before the default one (settings.TASK_QUEUES)."""
    job = run_automation
    if job.get_backend().supports_priority:
        job = job.using(priority=TASK_MAX_PRIORITY)
    job.enqueue(run_id)
