"""SLA on pages: an open step's due time and state (`{% step_time_badge task %}`), and the
moments stored in history events (`{{ event.data.due_at|moment }}`)."""

from datetime import timedelta

from django import template
from django.utils import formats, timezone
from django.utils.timesince import timeuntil

from flowdesk.sla.queries import step_time
from flowdesk.tickets.forms import local_datetime
from flowdesk.tickets.models import Task

register = template.Library()


@register.inclusion_tag("sla/_step_time.html")
def step_time_badge(task: Task) -> dict:
    time = step_time(task)
    left = ""
    if time and time.remaining_seconds is not None:  # working time, said in the reader's words
        now = timezone.now()
        left = timeuntil(now + timedelta(seconds=time.remaining_seconds), now)
    return {"time": time, "left": left}


@register.filter
def moment(value: str | None) -> str:
    """A stored ISO 8601 moment in the reader's time zone and format."""
    local = local_datetime(value) if value else None
    return formats.date_format(local, "DATETIME_FORMAT") if local else "—"
