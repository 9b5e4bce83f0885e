"""An automation node's options (an HTTP call or a checksum check) and the pure helpers the
caller runs it with: which names a template reads, and reading and testing a JSON response.

The engine never calls out: the caller renders the templates (in a sandbox), makes the call,
then completes the step as the system or reports its failure (`fail_automation`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import DefinitionError
from .options import parse_duration_at

__all__ = [
    "AUTOMATION_ACTIONS",
    "HTTP_METHODS",
    "SECRET_NAME",
    "Automation",
    "Callback",
    "ChecksumCheck",
    "HttpRequest",
    "Poll",
    "ResponseCondition",
    "parse_automation",
    "response_value",
    "template_names",
]

AUTOMATION_ACTIONS = ("http", "checksum")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
SECRET_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_TAG = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.DOTALL)


@dataclass(frozen=True)
class HttpRequest:
    """`url`, header values and the strings inside `body` are templates; `timeout` in seconds."""

    url: str
    method: str = "POST"
    headers: tuple[tuple[str, str], ...] = ()
    body: Any = None
    timeout: int = 30


@dataclass(frozen=True)
class ResponseCondition:
    """`path` (dotted keys, digits index lists) compared with `value` by `op`: eq, ne or in."""

    path: str
    op: str
    value: Any

    def holds(self, response: object) -> bool:
        """Whether the condition holds for a JSON response; never when the path is missing."""
        try:
            actual = response_value(response, self.path)
        except LookupError:
            return False
        if self.op == "in":
            return any(_same(actual, choice) for choice in self.value)
        return _same(actual, self.value) == (self.op == "eq")


@dataclass(frozen=True)
class Callback:
    """Wait for a signed callback; `secret` names a server-side secret (never its value)."""

    secret: str
    timeout: int


@dataclass(frozen=True)
class Poll:
    """GET `url` (a template, with the request's headers) every `interval` seconds until
    `success` or `failure` holds or `timeout` passes."""

    url: str
    interval: int
    timeout: int
    success: ResponseCondition
    failure: ResponseCondition | None = None


@dataclass(frozen=True)
class ChecksumCheck:
    """Download the file at the URL in `url_field`; compare with the digest fields given."""

    url_field: str
    md5_field: str | None = None
    sha256_field: str | None = None


@dataclass(frozen=True)
class Automation:
    action: str
    request: HttpRequest | None = None
    retries: int = 3
    wait: str = "none"
    callback: Callback | None = None
    poll: Poll | None = None
    outputs: tuple[tuple[str, str], ...] = ()  # (field key, response path)
    checksum: ChecksumCheck | None = None
    on_failure: str = "wait"
    return_to: str | None = None


# --- helpers for the caller ------------------------------------------------------------------


def template_names(text: str, root: str) -> list[str]:
    """The names a template reads under `root` (`values`, `secrets`, `ticket`) inside its
    `{{ }}` and `{% %}` tags, as `root.name` or `root['name']`, in order, without repeats."""
    pattern = re.compile(rf"(?<![\w.]){re.escape(root)}\s*(?:\.\s*(\w+)|\[\s*(['\"])(\w+)\2\s*\])")
    names: list[str] = []
    for tag in _TAG.finditer(text):
        for hit in pattern.finditer(tag.group(1) or tag.group(2) or ""):
            name = hit.group(1) or hit.group(3)
            if name not in names:
                names.append(name)
    return names


def response_value(response: object, path: str) -> object:
    """The value at a dotted `path` of a JSON response (`data.items.0.id`); LookupError with
    a sentence if the response has nothing there."""
    here = response
    for step in path.split("."):
        if isinstance(here, Mapping) and step in here:
            here = here[step]
        elif isinstance(here, list) and step.isdigit() and int(step) < len(here):
            here = here[int(step)]
        else:
            raise LookupError(f"The response has no '{path}' (nothing at '{step}').")
    return here


def _same(a: object, b: object) -> bool:
    """JSON equality: true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return a == b


# --- parsing -------------------------------------------------------------------------------


def parse_automation(raw: object, path: str) -> Automation:
    if not isinstance(raw, Mapping) or raw.get("action") not in AUTOMATION_ACTIONS:
        raise DefinitionError(path, "needs action: http or checksum")
    request = raw.get("request")
    checksum = raw.get("checksum")
    automation = Automation(
        action=raw["action"],
        request=_request(request, f"{path}.request") if request is not None else None,
        retries=int(raw.get("retries", 3)),
        wait=str(raw.get("wait", "none")),
        callback=_callback(raw["callback"], f"{path}.callback") if "callback" in raw else None,
        poll=_poll(raw["poll"], f"{path}.poll") if "poll" in raw else None,
        outputs=tuple((str(k), str(v)) for k, v in (raw.get("outputs") or {}).items()),
        checksum=ChecksumCheck(**checksum) if isinstance(checksum, Mapping) else None,
        on_failure=str(raw.get("on_failure", "wait")),
        return_to=raw.get("return_to"),
    )
    _check_parts(automation, path)
    return automation


def _check_parts(automation: Automation, path: str) -> None:
    if automation.action == "http" and automation.request is None:
        raise DefinitionError(path, "'request' is missing")
    if automation.action == "checksum" and automation.checksum is None:
        raise DefinitionError(path, "'checksum' is missing")
    if automation.wait == "callback" and automation.callback is None:
        raise DefinitionError(path, "'callback' is missing")
    if automation.wait == "poll" and automation.poll is None:
        raise DefinitionError(path, "'poll' is missing")
    if automation.on_failure == "return" and not automation.return_to:
        raise DefinitionError(path, "'return_to' is missing")


def _request(raw: object, path: str) -> HttpRequest:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("url"), str):
        raise DefinitionError(path, "needs a url")
    return HttpRequest(
        url=raw["url"],
        method=str(raw.get("method", "POST")),
        headers=tuple((str(k), str(v)) for k, v in (raw.get("headers") or {}).items()),
        body=raw.get("body"),
        timeout=parse_duration_at(raw.get("timeout", "30s"), f"{path}.timeout"),
    )


def _callback(raw: Mapping[str, Any], path: str) -> Callback:
    return Callback(
        secret=str(raw["secret"]),
        timeout=parse_duration_at(raw.get("timeout"), f"{path}.timeout"),
    )


def _poll(raw: Mapping[str, Any], path: str) -> Poll:
    failure = raw.get("failure")
    return Poll(
        url=str(raw["url"]),
        interval=parse_duration_at(raw.get("interval"), f"{path}.interval"),
        timeout=parse_duration_at(raw.get("timeout"), f"{path}.timeout"),
        success=_condition(raw["success"]),
        failure=_condition(failure) if failure is not None else None,
    )


def _condition(raw: Mapping[str, Any]) -> ResponseCondition:
    op = next(key for key in ("eq", "ne", "in") if key in raw)
    value = tuple(raw[op]) if op == "in" else raw[op]
    return ResponseCondition(path=str(raw["path"]), op=op, value=value)
