"""Background tasks (Django's tasks API through the django-tasks backport)."""

from django_tasks import task

from flowdesk.notify import outbox


@task()
def send_deliveries(keys: list[str]) -> int:
    """Send the named deliveries now (enqueued after the action that wrote them commits)."""
    return outbox.send_claimed(keys)
