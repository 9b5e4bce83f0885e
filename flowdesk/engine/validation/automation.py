"""Automation nodes: the fields their templates read (`{{ values.x }}`, found by a scan of the
template tags, not by parsing them), the secrets they name, where outputs go, the fields a
checksum check compares, and durations that mean something. `return_to` is checked with the
approvals' in `nodes`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flowdesk.engine.automation import SECRET_NAME, template_names
from flowdesk.engine.calendar import parse_duration

from .context import Doc
from .options import check_duration
from .problems import Loc, article, did_you_mean, one_of

# what each checksum key may name: field types, and for checksum fields their algorithm
_CHECKSUM_FIELDS = {
    "url_field": ({"url", "string"}, None, "a url or string field"),
    "md5_field": ({"checksum", "string"}, "md5", "an md5 checksum field or a string field"),
    "sha256_field": (
        {"checksum", "string"},
        "sha256",
        "a sha256 checksum field or a string field",
    ),
}


def check_automations(d: Doc) -> None:
    for i, node in d.items("nodes"):
        loc: Loc = ("nodes", i, "automation")
        automation = node.get("automation")
        if node.get("type") != "automation" or not isinstance(automation, dict):
            continue
        if not d.sound(loc):
            continue
        for where, text in _templates(loc, automation):
            _check_template(d, where, text)
        _check_waits(d, loc, automation)
        _check_outputs(d, loc, automation, node.get("fields") or [])
        if isinstance(automation.get("checksum"), dict):
            _check_checksum(d, (*loc, "checksum"), automation["checksum"])


def _templates(loc: Loc, automation: dict) -> Iterator[tuple[Loc, str]]:
    request = automation.get("request") or {}
    if "url" in request:
        yield (*loc, "request", "url"), request["url"]
    for name, value in (request.get("headers") or {}).items():
        yield (*loc, "request", "headers", name), value
    if "body" in request:
        yield from _strings((*loc, "request", "body"), request["body"])
    poll = automation.get("poll") or {}
    if "url" in poll:
        yield (*loc, "poll", "url"), poll["url"]


def _strings(loc: Loc, value: Any) -> Iterator[tuple[Loc, str]]:
    """The strings inside a JSON value (the body's templates), with where they are."""
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings((*loc, key), item)
    elif isinstance(value, list):
        for k, item in enumerate(value):
            yield from _strings((*loc, k), item)


def _check_template(d: Doc, loc: Loc, text: str) -> None:
    for key in template_names(text, "values"):
        if key not in d.fields:
            suggestion = did_you_mean(key, d.fields)
            d.add(loc, f"reads values.{key}, but no field has the key '{key}'{suggestion}")
    for name in template_names(text, "secrets"):
        if not SECRET_NAME.fullmatch(name):
            d.add(
                loc,
                f"reads secrets.{name}; a secret's name is in capitals, digits and _ "
                "(e.g. DEPLOY_TOKEN)",
            )
        else:
            _check_secret(d, loc, name)


def _check_secret(d: Doc, loc: Loc, name: str) -> None:
    known = d.catalog("secrets")
    if known is not None and name not in known:
        d.add(loc, f"the server has no secret '{name}'{did_you_mean(name, known)}")


def _check_waits(d: Doc, loc: Loc, automation: dict) -> None:
    request = automation.get("request") or {}
    check_duration(d, (*loc, "request", "timeout"), request)
    callback = automation.get("callback") or {}
    check_duration(d, (*loc, "callback", "timeout"), callback)
    if "secret" in callback:
        _check_secret(d, (*loc, "callback", "secret"), callback["secret"])
    poll = automation.get("poll") or {}
    for key in ("interval", "timeout"):
        check_duration(d, (*loc, "poll", key), poll)
    if "interval" in poll and "timeout" in poll:
        _check_poll_interval(d, (*loc, "poll", "interval"), poll)


def _check_poll_interval(d: Doc, loc: Loc, poll: dict) -> None:
    try:
        interval, timeout = parse_duration(poll["interval"]), parse_duration(poll["timeout"])
    except ValueError:
        return  # reported as a duration
    if interval >= timeout:
        d.add(loc, f"is not shorter than the timeout ({poll['timeout']}); poll more often")


def _check_outputs(d: Doc, loc: Loc, automation: dict, fields: list) -> None:
    for key in automation.get("outputs") or {}:
        where = (*loc, "outputs", key)
        if key not in d.fields:
            d.add(where, f"no field has the key '{key}'{did_you_mean(key, d.fields)}")
        elif key not in fields:
            d.add(
                where,
                f"field '{key}' is not among this node's fields; list it there to store the "
                "response in it",
            )


def _check_checksum(d: Doc, loc: Loc, check: dict) -> None:
    for name, (types, algorithm, wanted) in _CHECKSUM_FIELDS.items():
        key = check.get(name)
        if key is None:
            continue
        item = d.fields.get(key)
        if item is None:
            d.add((*loc, name), f"no field has the key '{key}'{did_you_mean(key, d.fields)}")
            continue
        kind = item.get("type")
        if one_of(kind, types) and (kind != "checksum" or item.get("algorithm") == algorithm):
            continue
        what = f"{article(kind)} field"
        if kind == "checksum":
            what = f"a checksum field with algorithm {item.get('algorithm')}"
        d.add((*loc, name), f"'{key}' is {what}; {name} names {wanted}")
