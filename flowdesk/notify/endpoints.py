"""Chat channels and outgoing webhooks (`models.Endpoint`): which deliveries an event makes,
what each kind of endpoint is sent, how it is signed, and the sender.

Two audiences:
- JSON webhooks (kind `webhook`) are for machines: every ticket history event the endpoint
  subscribes to, as Flowdesk's JSON, signed with HMAC-SHA256 (docs/notifications.md).
- Chat endpoints (WeCom, DingTalk, Feishu, Slack) are for people: the notification events of
  tickets whose strategy includes the `chat` channel, as a message in the service's language.

A delivery's payload is the body to post, rendered when the event happens; it is signed when
sent, so a retry posts the same body with a fresh timestamp and the same Idempotency-Key.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from flowdesk import engine
from flowdesk.notify.models import EVENTS, Delivery, Endpoint
from flowdesk.texts import localized
from flowdesk.tickets.models import Event, Task, Ticket
from flowdesk.tickets.persistence import iso
from flowdesk.web.templatetags.fd import field_value

Kind = Endpoint.Kind

# Ticket history event kinds (tickets.models.Event.kind) a JSON webhook may subscribe to. An
# app that records a new kind adds it here, so that endpoint validation knows the name.
TICKET_EVENTS = (
    "submitted", "assigned", "claimed", "completed", "approved", "rejected", "returned",
    "transferred", "decided", "skipped", "suspended", "resumed", "withdrawn", "terminated",
    "ended", "urged", "commented", "followed", "unfollowed",
    # recorded by flowdesk.sla and flowdesk.automation
    "sla_warning", "sla_breach", "escalated", "timer_fired", "timer_problem",
    "automation_succeeded", "automation_failed", "automation_retried", "automation_skipped",
)  # fmt: skip
# Notification events a chat channel carries: all but the personal "transferred to you".
CHAT_EVENTS = tuple(name for name, _label in EVENTS if name != "transferred")
CHAT_KINDS = (Kind.WECOM, Kind.DINGTALK, Kind.FEISHU, Kind.SLACK)
SIGNED_KINDS = (Kind.WEBHOOK, Kind.DINGTALK, Kind.FEISHU)  # the kinds that use a secret
TEST = "test"  # the event of a "send test message" delivery

MAX_FIELDS = 8  # key fields shown in a chat message
MAX_VALUE = 200  # characters of one value in a chat message
MAX_RESPONSE = 500  # characters of a receiver's answer kept on the delivery
WECOM_MAX_BYTES = 4096  # WeCom refuses longer markdown


class EndpointRefused(Exception):
    """The receiver answered, but not with success; the outbox retries."""


# --- which deliveries an event makes -----------------------------------------------------------


def webhook_deliveries(ticket: Ticket, events: Iterable[Event]) -> list[Delivery]:
    """One delivery per ticket event and JSON webhook subscribed to it (for the ticket's service
    or every service)."""
    hooks = list(_endpoints(ticket, [Kind.WEBHOOK]))
    rows = []
    for event in events:
        subscribed = [hook for hook in hooks if _subscribed(hook, event.kind)]
        if subscribed:
            body = event_body(ticket, event)
            key = f"t{ticket.pk}:e{event.seq}"
            rows += [_delivery(key, hook, event.kind, body, ticket) for hook in subscribed]
    return rows


def chat_deliveries(
    ticket: Ticket, channels: Iterable[str], context: dict, *, key: str
) -> list[Delivery]:
    """One message per chat endpoint subscribed to notification `context["event"]`, when the
    strategy's `channels` include chat. `context` is `rules.message_context`; `key` identifies
    the notification within the ticket (idempotency)."""
    name = context["event"]
    if "chat" not in channels or name not in CHAT_EVENTS:
        return []
    rooms = [room for room in _endpoints(ticket, CHAT_KINDS) if _subscribed(room, name)]
    if not rooms:
        return []
    defn = ticket.version.definition
    message = ticket_message(context, defn, now_at=_current_steps(ticket))
    return [_delivery(key, room, name, chat_body(room.kind, message), ticket) for room in rooms]


def trial_delivery(endpoint: Endpoint, actor: AbstractBaseUser | None) -> Delivery:
    """The delivery of "send test message": a sample event under a key of its own."""
    who = actor.get_username() if actor else _("the operator")
    if endpoint.kind == Kind.WEBHOOK:
        body = {"event": TEST, "at": iso(timezone.now()), "endpoint": endpoint.name, "by": who}
    else:
        body = chat_body(endpoint.kind, trial_message(endpoint, who))
    return _delivery(f"test:{secrets.token_hex(8)}", endpoint, TEST, body, None)


def _endpoints(ticket: Ticket, kinds: Iterable[str]) -> QuerySet[Endpoint]:
    return Endpoint.objects.filter(is_active=True, kind__in=kinds).filter(
        Q(service__isnull=True) | Q(service_id=ticket.service_id)
    )


def _subscribed(endpoint: Endpoint, event: str) -> bool:
    return not endpoint.events or event in endpoint.events


def _delivery(
    key: str, endpoint: Endpoint, event: str, body: dict, ticket: Ticket | None
) -> Delivery:
    return Delivery(
        key=f"{key}:endpoint:{endpoint.pk}",
        channel=Delivery.Channel.ENDPOINT,
        event=event,
        ticket=ticket,
        endpoint=endpoint,
        address=masked_url(endpoint.url),  # the real one is a credential for chat tools
        payload=body,
    )


# --- the JSON webhook's event ------------------------------------------------------------------


def event_body(ticket: Ticket, event: Event) -> dict:
    """Flowdesk's JSON for one ticket event (docs/notifications.md#chat-and-webhooks)."""
    node = ticket.version.definition.nodes.get(event.node_id)
    data = dict(event.data)
    changes = data.pop("changes", {})
    return {
        "event": event.kind,
        "seq": event.seq,
        "at": iso(event.at),
        "ticket": {
            "serial": ticket.sn,
            "title": ticket.title,
            "service": ticket.service.key,
            "status": ticket.status,
            "requester": ticket.requester.get_username(),
            "link": ticket_link(ticket.sn),
        },
        "node": {"id": node.id, "name": _in_default_language(node.name, node.id)} if node else None,
        "actor": event.actor.get_username() if event.actor else None,
        "changes": {key: {"from": old, "to": new} for key, (old, new) in changes.items()},
        "data": data,
    }


def ticket_link(serial: str) -> str:
    return settings.FLOWDESK_BASE_URL + reverse("tickets:ticket_detail", args=[serial])


def _in_default_language(text: object, fallback: str = "") -> str:
    return localized(text, fallback, language=settings.LANGUAGE_CODE)


# --- chat messages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """A chat message before it takes a chat tool's shape."""

    headline: str  # "[Flowdesk] Approved: CRQ20261127000001" – no text from users
    title: str  # the ticket's title
    facts: list[tuple[str, str]]  # (label, value): service, step, who, comment, key fields
    link: str
    link_text: str


def ticket_message(context: dict, defn: engine.Definition, *, now_at: list[object]) -> Message:
    """The message about one notification, in the service's default language; `now_at`: the
    names of the steps the ticket waits at."""
    with translation.override(settings.LANGUAGE_CODE):
        label = dict(EVENTS).get(context["event"], context["event"])
        facts = [
            (_("Service"), _in_default_language(context["service"])),
            (_("Step"), _in_default_language(context["node_name"], context["node"])),
            (_("Now at"), ", ".join(_in_default_language(name) for name in now_at)),
            (_("Status"), str(Ticket.Status(context["status"]).label)),
            (_("By"), context["actor"] or ""),
            (_("Comment"), context["comment"]),
        ]
        for field in context["fields"][:MAX_FIELDS]:
            value = field_value(defn, field["key"], field["value"])
            facts.append((_in_default_language(field["label"], field["key"]), value))
        return Message(
            headline=f"[Flowdesk] {capfirst(label)}: {context['serial']}",
            title=context["title"],
            facts=[(name, _plain(value)) for name, value in facts if value not in ("", None, [])],
            link=settings.FLOWDESK_BASE_URL + context["path"],
            link_text=_("Open %(serial)s") % {"serial": context["serial"]},
        )


def trial_message(endpoint: Endpoint, who: str) -> Message:
    with translation.override(settings.LANGUAGE_CODE):
        return Message(
            headline="[Flowdesk] " + _("Test message"),
            title=_("Flowdesk can post to this channel."),
            facts=[(_("Endpoint"), endpoint.name), (_("Sent by"), who)],
            link=settings.FLOWDESK_BASE_URL + reverse("notify:endpoint_list"),
            link_text=_("Chat and webhooks"),
        )


def _current_steps(ticket: Ticket) -> list[object]:
    """The names of the steps the ticket waits at now (its open tasks)."""
    nodes = ticket.version.definition.nodes
    open_nodes = (
        ticket.tasks.filter(status=Task.Status.OPEN)
        .order_by("node_id")
        .values_list("node_id", flat=True)
        .distinct()
    )
    return [nodes[node].name or node if node in nodes else node for node in open_nodes]


def _plain(value: object) -> str:
    """A field value as one short line of text."""
    if isinstance(value, list | tuple):
        value = ", ".join(_plain(item) for item in value)
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False)
    text = " ".join(str(value).split())
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _md(text: str) -> str:
    """Text from users, made inert in chat markdown: no links, images or HTML tags (the
    markdown dialects of WeCom, DingTalk and Feishu do not agree on backslash escapes)."""
    return text.translate(str.maketrans({"[": "［", "]": "］", "<": "‹", ">": "›"}))


def _markdown_lines(message: Message) -> list[str]:
    """The title and the facts, one markdown line each (the link is added by the caller)."""
    lines = [f"**{_md(message.title)}**"]
    return lines + [f"**{_md(name)}:** {_md(value)}" for name, value in message.facts]


def _markdown_link(message: Message) -> str:
    return f"[{_md(message.link_text)}]({message.link})"


def chat_body(kind: str, message: Message) -> dict:
    """The JSON a chat tool's incoming webhook takes (before signing)."""
    return CHAT_BODIES[kind](message)


def _wecom(message: Message) -> dict:
    link = _markdown_link(message)
    text = "\n".join([f"### {message.headline}", *_markdown_lines(message)])
    content = _clip_bytes(text, WECOM_MAX_BYTES - len(link.encode()) - 1) + "\n" + link
    return {"msgtype": "markdown", "markdown": {"content": content}}


def _dingtalk(message: Message) -> dict:
    lines = [f"### {message.headline}", *_markdown_lines(message), _markdown_link(message)]
    # DingTalk's markdown needs a blank line for a line break.
    text = "\n\n".join(lines)
    return {"msgtype": "markdown", "markdown": {"title": message.headline, "text": text}}


def _feishu(message: Message) -> dict:
    button = {
        "tag": "button",
        "text": {"tag": "plain_text", "content": message.link_text},
        "type": "primary",
        "url": message.link,
    }
    card = {
        "header": {
            "title": {"tag": "plain_text", "content": message.headline},
            "template": "blue",
        },
        "elements": [
            {
                "tag": "div",
                "text": {"tag": "lark_md", "content": "\n".join(_markdown_lines(message))},
            },
            {"tag": "action", "actions": [button]},
        ],
    }
    return {"msg_type": "interactive", "card": card}


def _slack_text(text: str) -> str:
    """Slack's mrkdwn needs &, < and > escaped; `<...>` would otherwise be a link or mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack(message: Message) -> dict:
    fields = [
        {"type": "mrkdwn", "text": f"*{_slack_text(name)}*\n{_slack_text(value)}"}
        for name, value in message.facts[:10]  # Slack allows ten fields in a section
    ]
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": message.headline[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_slack_text(message.title)}*"}},
        *([{"type": "section", "fields": fields}] if fields else []),
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": message.link_text},
                    "url": message.link,
                }
            ],
        },
    ]
    return {"text": f"{message.headline}: {message.title}", "blocks": blocks}


CHAT_BODIES = {
    Kind.WECOM: _wecom,
    Kind.DINGTALK: _dingtalk,
    Kind.FEISHU: _feishu,
    Kind.SLACK: _slack,
}


def _clip_bytes(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "…"


# --- signing and sending -----------------------------------------------------------------------


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`X-Flowdesk-Signature`: HMAC-SHA256 over "<timestamp>.<raw body>" (a replayed body with
    a new timestamp does not verify)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def dingtalk_sign(secret: str, timestamp: str) -> str:
    """DingTalk's `sign` query parameter: base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>"))."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def feishu_sign(secret: str, timestamp: str) -> str:
    """Feishu's `sign` body field: base64(HMAC-SHA256 keyed with "<timestamp>\\n<secret>" over
    nothing)."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def send(delivery: Delivery) -> str:
    """The outbox's sender for `Delivery.Channel.ENDPOINT`: post once, return "<status> <body>";
    raise on a refusal (non-2xx, or a chat tool's non-zero error code) so the outbox retries."""
    endpoint = delivery.endpoint
    url, headers, body = signed_request(endpoint, delivery)
    response = httpx.post(
        url, content=body, headers=headers, timeout=settings.FLOWDESK_WEBHOOK_TIMEOUT
    )
    answer = f"{response.status_code} {response.text[:MAX_RESPONSE]}".strip()
    if not response.is_success or _error_code(endpoint.kind, response):
        raise EndpointRefused(answer)
    return answer


def signed_request(endpoint: Endpoint, delivery: Delivery) -> tuple[str, dict, bytes]:
    """(URL, headers, body) of one attempt, signed now as the endpoint's kind wants."""
    url, payload, secret = endpoint.url, delivery.payload, endpoint.secret
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Flowdesk",
        "Idempotency-Key": delivery.key,
        "X-Flowdesk-Event": delivery.event,
    }
    if endpoint.kind == Kind.FEISHU and secret:
        timestamp = str(int(time.time()))
        payload = {"timestamp": timestamp, "sign": feishu_sign(secret, timestamp), **payload}
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    if endpoint.kind == Kind.WEBHOOK:
        timestamp = str(int(time.time()))
        headers["X-Flowdesk-Timestamp"] = timestamp
        headers["X-Flowdesk-Signature"] = webhook_signature(secret, timestamp, body)
    elif endpoint.kind == Kind.DINGTALK and secret:
        timestamp = str(int(time.time() * 1000))  # DingTalk wants milliseconds
        query = urlencode({"timestamp": timestamp, "sign": dingtalk_sign(secret, timestamp)})
        url += ("&" if "?" in url else "?") + query
    return url, headers, body


def _error_code(kind: str, response: httpx.Response) -> int:
    """WeCom and DingTalk answer HTTP 200 with `errcode`, Feishu with `code` (older hooks:
    `StatusCode`); anything but 0 is a refusal."""
    if kind not in (Kind.WECOM, Kind.DINGTALK, Kind.FEISHU):
        return 0
    try:
        answer = response.json()
    except ValueError:
        return 0
    if not isinstance(answer, dict):
        return 0
    code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
    return code if isinstance(code, int) else 0


# --- what admins see and what is validated -----------------------------------------------------


def masked_url(url: str) -> str:
    """The URL with what usually is its credential hidden: query values (WeCom's `key`,
    DingTalk's `access_token`) and long path segments (Slack's and Feishu's hook tokens)."""
    parts = urlsplit(url)
    path = "/".join(
        segment[:4] + "…" if len(segment) >= 16 else segment for segment in parts.path.split("/")
    )
    query = "&".join(f"{pair.split('=')[0]}=…" for pair in parts.query.split("&") if pair)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, path, query, ""))


def validate_endpoint(endpoint: Endpoint) -> None:
    """What the model's field checks cannot know: the URL scheme, the event names of the kind,
    and the secret's rules. Raises ValidationError by field."""
    errors = {}
    if urlsplit(endpoint.url).scheme not in ("http", "https"):
        errors["url"] = _("Enter an http:// or https:// URL.")
    known = TICKET_EVENTS if endpoint.kind == Kind.WEBHOOK else CHAT_EVENTS
    unknown = [name for name in endpoint.events if name not in known]
    if unknown:
        errors["events"] = _("Unknown event %(names)s for %(kind)s; known: %(known)s.") % {
            "names": ", ".join(repr(name) for name in unknown),
            "kind": endpoint.get_kind_display(),
            "known": ", ".join(known),
        }
    if endpoint.kind == Kind.WEBHOOK and not endpoint.secret:
        errors["secret"] = _("A JSON webhook needs a signing secret, for receivers to verify.")
    elif endpoint.kind not in SIGNED_KINDS and endpoint.secret:
        errors["secret"] = _("%(kind)s does not sign messages; leave the secret empty.") % {
            "kind": endpoint.get_kind_display()
        }
    if errors:
        raise ValidationError(errors)
