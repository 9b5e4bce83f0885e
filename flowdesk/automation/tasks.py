"""Background tasks (Django's tasks API through the django-tasks backport)."""

from django_tasks import task
from django_tasks.base import TASK_MAX_PRIORITY

from flowdesk.automation import runner


# First in the queue: a ticket waits on this step, while e-mails may go a moment later (the
# database queue orders by priority; RQ puts a maximum-priority job at the front).
@task(priority=TASK_MAX_PRIORITY)
def run_automation(run_id: int) -> int:
    """Work on the run now (enqueued when its step opens or is retried, after the commit)."""
    return runner.run_claimed([run_id])
