"""Rendering an automation step's templates: Jinja in a sandbox, over the ticket and secrets.

Templates read `values` (the ticket's fields), `ticket` (serial, title, service, business,
requester), `secrets` (only the names the templates spell out, from FLOWDESK_SECRETS) and, for a
step that waits for a callback, `callback_url`. The sandbox is immutable (no method that changes
an object, no attribute starting with `_`), undefined names are errors, and `*` / `**` are
bounded so that a template cannot exhaust the worker's memory.

Every request is rendered twice: with the real secrets to send, and with placeholders to store,
so a secret never reaches the database, the ticket page or the audit log.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from flowdesk.engine.automation import HttpRequest, template_names
from flowdesk.tickets.models import Ticket

MAX_RESULT = 100_000  # the longest string or list `*` may build
MAX_EXPONENT = 64
CALLBACK_PLACEHOLDER = "[callback URL]"


class AutomationError(Exception):
    """The step cannot run as configured (a template, a secret, a URL): a failure of the step,
    with a sentence for its operators."""


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > MAX_EXPONENT:
            raise AutomationError(f"A template raises to the power {right}; at most 64.")
        if operator == "*":
            sizes = [len(x) for x in (left, right) if isinstance(x, str | list | tuple)]
            counts = [x for x in (left, right) if isinstance(x, int)]
            if sizes and counts and sizes[0] * counts[0] > MAX_RESULT:
                raise AutomationError(f"A template builds a value longer than {MAX_RESULT}.")
        return super().call_binop(context, operator, left, right)


_ENV = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


@dataclass(frozen=True)
class Outgoing:
    """A request ready to send (JSON `body`, or None for no body). `hidden`: (value, placeholder)
    of the secrets and callback URL in it, to take out of whatever is stored."""

    method: str
    url: str
    headers: dict[str, str]
    body: Any = None
    hidden: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def as_json(self) -> dict:
        return {"method": self.method, "url": self.url, "headers": self.headers, "body": self.body}

    def redact(self, value: Any) -> Any:
        """`value` (text or JSON) with the secrets sent replaced by their placeholders: a
        system that echoes the request must not put a secret on the ticket page."""
        if isinstance(value, str):
            for secret, placeholder in self.hidden:
                value = value.replace(secret, placeholder)
            return value
        if isinstance(value, dict):
            return {key: self.redact(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.redact(item) for item in value]
        return value


def ticket_context(ticket: Ticket) -> dict:
    """What templates know of the ticket besides its values (keys, not display names)."""
    return {
        "serial": ticket.sn,
        "title": ticket.title,
        "service": ticket.service.key,
        "business": ticket.business.key if ticket.business_id else None,
        "requester": ticket.requester.get_username(),
    }


def prepare(
    request: HttpRequest,
    ticket: Ticket,
    *,
    callback_url: str | None = None,
    extra: dict,
    where: str = "request.url",
) -> tuple[Outgoing, dict]:
    """The request to send and its stored form (secrets and the callback URL redacted).
    `extra`: further names the templates may read (a poll reads the call's `response`);
    `where`: the URL template's place in the document, for errors."""
    texts = [request.url, *(value for _, value in request.headers), *_strings(request.body)]
    real = _secrets(texts)
    base = {"values": ticket.values, "ticket": ticket_context(ticket), **extra}
    send = _render(request, {**base, "secrets": real, "callback_url": callback_url}, where)
    shown = {name: f"[secret {name}]" for name in real}
    placeholder = callback_url and CALLBACK_PLACEHOLDER
    kept = _render(request, {**base, "secrets": shown, "callback_url": placeholder}, where)
    hidden = [(real[name], shown[name]) for name in real]
    if callback_url:
        hidden.append((callback_url, CALLBACK_PLACEHOLDER))
    return replace(send, hidden=tuple(hidden)), kept.as_json()


def secret(name: str) -> str:
    """A secret's value; AutomationError naming the environment variable when it is not set."""
    value = settings.FLOWDESK_SECRETS.get(name)
    if not value:
        raise AutomationError(
            f"The secret '{name}' is not set on the server: set the environment variable "
            f"FLOWDESK_SECRET_{name} for the web and worker processes."
        )
    return value


def _secrets(texts: Iterable[str]) -> dict[str, str]:
    """Only the secrets the templates name; any other name is undefined when rendered."""
    names = {name for text in texts for name in template_names(text, "secrets")}
    return {name: secret(name) for name in sorted(names)}


def _render(request: HttpRequest, context: dict, where: str) -> Outgoing:
    return Outgoing(
        method=request.method,
        url=render(request.url, context, where).strip(),
        headers={
            name: render(value, context, f"request.headers.{name}")
            for name, value in request.headers
        },
        body=_render_body(request.body, context, "request.body"),
    )


def render(text: str, context: dict, where: str) -> str:
    """One template; AutomationError saying where and what when it cannot be rendered."""
    try:
        return _ENV.from_string(text).render(context)
    except TemplateError as error:
        raise AutomationError(f"The template at {where} cannot be rendered: {error}") from None


def _render_body(body: Any, context: dict, where: str) -> Any:
    """Every string inside a JSON body is a template; keys, numbers and booleans stay."""
    if isinstance(body, str):
        return render(body, context, where)
    if isinstance(body, dict):
        return {key: _render_body(item, context, f"{where}.{key}") for key, item in body.items()}
    if isinstance(body, list):
        return [_render_body(item, context, f"{where}[{i}]") for i, item in enumerate(body)]
    return body


def _strings(body: Any) -> Iterable[str]:
    if isinstance(body, str):
        yield body
    elif isinstance(body, dict):
        for item in body.values():
            yield from _strings(item)
    elif isinstance(body, list):
        for item in body:
            yield from _strings(item)
