"""Background tasks (Django's tasks API through the django-tasks backport)."""

from django_tasks import task

from flowdesk.automation import runner


@task()
def run_automation(run_id: int) -> int:
    """Work on the run now (enqueued when its step opens or is retried, after the commit)."""
    return runner.run_claimed([run_id])
