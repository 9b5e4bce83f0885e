"""Time and notification options: durations that mean something (more than nothing, at most
3650d), the calendars and fields a timer or SLA names, SLA escalation operators, and node
notification strategies that only choose events about the node."""

from __future__ import annotations

from flowdesk.engine.calendar import parse_duration
from flowdesk.engine.options import NOTIFY_TICKET_EVENTS as TICKET_EVENTS

from .context import Doc
from .graph import Graph
from .nodes import check_operator
from .problems import Loc, article, did_you_mean


def check_options(d: Doc, graph: Graph | None) -> None:
    settings = d.data.get("settings")
    if isinstance(settings, dict) and isinstance(settings.get("notify"), dict):
        check_duration(d, ("settings", "notify", "remind_every"), settings["notify"])
    for i, node in d.items("nodes"):
        loc: Loc = ("nodes", i)
        if isinstance(node.get("sla"), dict) and d.sound((*loc, "sla")):
            _check_sla(d, (*loc, "sla"), node, graph)
        if isinstance(node.get("notify"), dict) and d.sound((*loc, "notify")):
            _check_node_notify(d, (*loc, "notify"), node["notify"])
        if isinstance(node.get("timer"), dict) and d.sound((*loc, "timer")):
            _check_timer(d, (*loc, "timer"), node["timer"])


def check_duration(d: Doc, loc: Loc, parent: dict) -> None:
    """The duration at `loc` (the key `loc[-1]` of `parent`), if given and schema-sound."""
    value = parent.get(loc[-1])
    if isinstance(value, str) and d.sound(loc):
        try:
            parse_duration(value)
        except ValueError as error:
            d.add(loc, str(error).rstrip("."))


def check_calendar(d: Doc, loc: Loc, parent: dict) -> None:
    name = parent.get("calendar")
    known = d.catalog("calendars")
    if isinstance(name, str) and known is not None and name not in known:
        d.add(
            (*loc, "calendar"), f"work calendar '{name}' does not exist{did_you_mean(name, known)}"
        )


def _check_sla(d: Doc, loc: Loc, node: dict, graph: Graph | None) -> None:
    sla = node["sla"]
    check_duration(d, (*loc, "due"), sla)
    check_calendar(d, loc, sla)
    for k, op in enumerate(sla.get("escalate_to") or []):
        check_operator(d, (*loc, "escalate_to", k), op, node, graph)


def _check_node_notify(d: Doc, loc: Loc, notify: dict) -> None:
    check_duration(d, (*loc, "remind_every"), notify)
    for k, event in enumerate(notify.get("events") or []):
        if event in TICKET_EVENTS:
            d.add(
                (*loc, "events", k),
                f"'{event}' is about the whole ticket, not a step; choose it in settings.notify",
            )


def _check_timer(d: Doc, loc: Loc, timer: dict) -> None:
    check_duration(d, (*loc, "after"), timer)
    check_calendar(d, loc, timer)
    key = timer.get("until_field")
    if key is None:
        return
    item = d.fields.get(key)
    if item is None:
        d.add((*loc, "until_field"), f"no field has the key '{key}'{did_you_mean(key, d.fields)}")
    elif item.get("type") != "datetime":
        d.add(
            (*loc, "until_field"),
            f"'{key}' is {article(item.get('type'))} field; until_field names a datetime field",
        )
