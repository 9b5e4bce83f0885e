"""Template helpers shared by Flowdesk's pages: texts, people, statuses and field values."""

from django import template
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist
from django.utils import formats
from django.utils.translation import gettext, pgettext_lazy

from flowdesk import engine
from flowdesk.texts import localized
from flowdesk.tickets.forms import local_datetime

register = template.Library()

STATUS_COLOURS = {
    "running": "primary",
    "suspended": "warning",
    "finished": "success",
    "terminated": "danger",
    "withdrawn": "secondary",
}


@register.filter(name="localized")
def localized_filter(value: object, fallback: str = "") -> str:
    """A document text (`"..."` or `{en, zh}`) in the reader's language."""
    return localized(value, fallback)


@register.filter
def named(obj: object) -> str:
    """A Business/Role/Service/Workflow name in the reader's language."""
    return localized({"en": obj.name, "zh": getattr(obj, "name_zh", "")}, str(obj))


@register.filter
def person(user: AbstractBaseUser | None) -> str:
    """The display name of a user (select_related the profile to keep this query-free)."""
    if user is None:
        return gettext("the system")
    try:
        name = user.profile.display_name
    except ObjectDoesNotExist:  # users not made by do_save_user may have no profile yet
        name = ""
    return name or user.get_username()


@register.filter
def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, "secondary")


@register.simple_tag
def field_label(defn: engine.Definition, key: str) -> str:
    return localized(defn.fields.get(key, {}).get("label"), key)


@register.simple_tag
def field_value(defn: engine.Definition, key: str, value: object) -> str:
    """A stored field value as a reader wants to see it (option labels, local times...)."""
    field = defn.fields.get(key, {})
    kind = field.get("type")
    if value is None or value == "" or value == []:
        return "—"
    if kind in {"select", "multiselect"}:
        labels = {str(value): label for value, label in _option_labels(field)}
        items = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(str(item), str(item)) for item in items)
    if kind == "boolean":
        return gettext("Yes") if value else gettext("No")
    if kind == "datetime":
        moment = local_datetime(value)
        return formats.date_format(moment, "DATETIME_FORMAT") if moment else str(value)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _option_labels(field: dict) -> list[tuple[object, str]]:
    return [
        (opt.get("value"), localized(opt.get("label"), str(opt.get("value"))))
        if isinstance(opt, dict)
        else (opt, str(opt))
        for opt in field.get("options") or []
    ]


EVENT_LABELS = {
    "submitted": pgettext_lazy("event", "submitted the request"),
    "completed": pgettext_lazy("event", "completed"),
    "approved": pgettext_lazy("event", "approved"),
    "rejected": pgettext_lazy("event", "rejected"),
    "returned": pgettext_lazy("event", "returned the ticket"),
    "transferred": pgettext_lazy("event", "transferred the task"),
    "claimed": pgettext_lazy("event", "claimed the task"),
    "assigned": pgettext_lazy("event", "waiting for"),
    "skipped": pgettext_lazy("event", "skipped"),
    "decided": pgettext_lazy("event", "decided"),
    "ended": pgettext_lazy("event", "ended"),
    "suspended": pgettext_lazy("event", "suspended the ticket"),
    "resumed": pgettext_lazy("event", "resumed the ticket"),
    "withdrawn": pgettext_lazy("event", "withdrew the ticket"),
    "terminated": pgettext_lazy("event", "terminated the ticket"),
    "urged": pgettext_lazy("event", "urged the handlers"),
    "commented": pgettext_lazy("event", "commented"),
    "followed": pgettext_lazy("event", "followed the ticket"),
    "unfollowed": pgettext_lazy("event", "stopped following"),
    "automation_succeeded": pgettext_lazy("event", "ran the step"),
    "automation_failed": pgettext_lazy("event", "automation failed"),
    "automation_retried": pgettext_lazy("event", "retried the automation"),
    "automation_skipped": pgettext_lazy("event", "skipped the automation"),
    "sla_warning": pgettext_lazy("event", "nearly due, due at"),
    "sla_breach": pgettext_lazy("event", "overdue (SLA breached)"),
    "escalated": pgettext_lazy("event", "handed to the escalation:"),
    "timer_fired": pgettext_lazy("event", "continued when the timer was up"),
    "timer_problem": pgettext_lazy("event", "timer problem"),
}


@register.filter
def event_label(kind: str) -> str:
    return EVENT_LABELS.get(kind, kind)


@register.simple_tag
def node_label(defn: engine.Definition, node_id: str) -> str:
    node = defn.nodes.get(node_id)
    return localized(node.name, node_id) if node else node_id


@register.filter
def translated(value: str) -> str:
    """A word the service layer stored (an approval result, an end reason) in the catalog's
    language, when the catalog has it."""
    return gettext(value) if value else value
