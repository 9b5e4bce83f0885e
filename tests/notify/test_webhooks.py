"""Chat and webhook deliveries against a real HTTP server started by the test: what each kind of
endpoint receives, how it is signed, and what happens when the receiver refuses."""

import base64
import hashlib
import hmac
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from flowdesk.notify.actions import do_save_endpoint, do_test_endpoint
from flowdesk.notify.models import Delivery
from flowdesk.notify.outbox import send_due
from flowdesk.tickets import actions
from flowdesk.tickets.models import Task
from tests.factories import deploy_service, global_workflow
from tests.tickets.test_release_scenario import TEST_PASS, submit

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[2] / "docs" / "notifications.md"
SECRET = "s3cret-for-tests"
OK = (200, b'{"errcode":0,"errmsg":"ok"}')


@dataclass
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """An HTTP server in a thread: records every POST, answers from `answers` (then `OK`)."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.answers: list[tuple[int, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                parts = urlsplit(self.path)
                headers = dict(self.headers.items())
                receiver.requests.append(Request(parts.path, parse_qs(parts.query), headers, body))
                status, answer = receiver.answers.pop(0) if receiver.answers else OK
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def chatty_workflow(key: str = "chatty", review_notify: dict | None = None) -> dict:
    """A workflow that sends its notifications to e-mail and chat: submit → review → done."""
    review = {
        "id": "review",
        "type": "task",
        "name": {"en": "Review", "zh": "评审"},
        "operators": [{"type": "users", "users": ["test_bob"]}],
        **({"notify": review_notify} if review_notify else {}),
    }
    return global_workflow(
        key,
        nodes=[review],
        transitions=[{"from": "submit", "to": "review"}, {"from": "review", "to": "done"}],
        start_fields=["package_md5", "scope"],
        fields=[
            {"key": "package_md5", "type": "checksum", "algorithm": "md5", "label": "MD5"},
            {"key": "scope", "type": "text", "label": {"en": "Scope", "zh": "范围"}},
        ],
        settings={"notify": ["email", "chat"]},
    )


@pytest.fixture
def chatty(demo):
    return deploy_service(chatty_workflow())


def chat_ticket(service, users, title="Upgrade <b>[DB]</b>(http://evil.example)"):
    values = {"package_md5": "9e107d9d372bb6826bd81d3542a419d6", "scope": "east"}
    return actions.do_submit_ticket(service, actor=users.pm_alice, title=title, values=values)


def endpoint(kind, url, **options):
    return do_save_endpoint(None, name=kind, kind=kind, url=url, actor=None, **options)


def documented_verify():
    """The `verify` function of docs/notifications.md, run as a receiver would copy it."""
    section = DOCS.read_text().split("## Chat and webhooks", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    scope: dict = {}
    exec(code, scope)  # noqa: S102 – our own documentation
    return scope["verify"]


# --- the JSON webhook --------------------------------------------------------------------------


def test_webhook_event_is_signed_as_documented(receiver, release_service, users, settings):
    settings.FLOWDESK_BASE_URL = "https://flowdesk.example.com"
    hook = endpoint("webhook", receiver.url, secret=SECRET, events=["submitted", "completed"])
    ticket = submit(release_service, users.pm_alice)
    (task,) = Task.objects.filter(ticket=ticket, status=Task.Status.OPEN)
    actions.do_complete_task(task, actor=users.test_bob, values=TEST_PASS)

    send_due()
    assert len(receiver.requests) == 2
    # Each in its own request; a receiver orders them by `seq`, not by arrival.
    completed, submitted = sorted(receiver.requests, key=lambda r: r.json()["event"])
    body = submitted.json()
    assert body["event"] == "submitted" and body["actor"] == "pm_alice"
    assert body["ticket"] == {
        "serial": ticket.sn,
        "title": "Release server 2.4.1",
        "service": "app-release",
        "status": "running",
        "requester": "pm_alice",
        "link": f"https://flowdesk.example.com/tickets/{ticket.sn}/",
    }
    assert body["node"]["id"] == "submit" and body["at"].endswith("Z")
    assert completed.json()["changes"]["test_result"] == {"from": None, "to": "pass"}
    assert completed.json()["node"] == {"id": "test_confirm", "name": "Test confirmation"}

    delivery = Delivery.objects.get(endpoint=hook, event="submitted")
    assert submitted.headers["Idempotency-Key"] == delivery.key
    assert submitted.headers["X-Flowdesk-Event"] == "submitted"
    assert submitted.headers["X-Flowdesk-Signature"].startswith("sha256=")
    assert delivery.status == Delivery.Status.SENT and delivery.response.startswith("200 ")

    verify = documented_verify()
    assert verify(SECRET.encode(), submitted.body, submitted.headers)
    assert not verify(b"another secret", submitted.body, submitted.headers)
    assert not verify(SECRET.encode(), submitted.body + b" ", submitted.headers)
    replayed = {**submitted.headers, "X-Flowdesk-Timestamp": "1700000000"}
    assert not verify(SECRET.encode(), submitted.body, replayed)


def test_refused_delivery_is_retried_with_the_same_key(receiver, release_service, users):
    endpoint("webhook", receiver.url, secret=SECRET, events=["submitted"])
    receiver.answers.append((500, b"database is down"))
    submit(release_service, users.pm_alice)

    send_due()
    delivery = Delivery.objects.get(channel=Delivery.Channel.ENDPOINT)
    assert delivery.status == Delivery.Status.PENDING and delivery.attempts == 1
    assert "500 database is down" in delivery.last_error
    assert delivery.next_attempt_at > timezone.now()  # backs off
    send_due()
    assert len(receiver.requests) == 1  # not due yet

    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    send_due()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT and delivery.attempts == 2
    assert delivery.last_error == "" and delivery.response.startswith("200 ")
    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"] == delivery.key


def test_unreachable_receiver_is_retried(release_service, users, settings):
    settings.FLOWDESK_WEBHOOK_TIMEOUT = 2
    receiver = Receiver()
    receiver.close()  # nobody listens on its port any more
    endpoint("webhook", receiver.url, secret=SECRET, events=["submitted"])
    submit(release_service, users.pm_alice)

    send_due()
    assert len(receiver.requests) == 0
    delivery = Delivery.objects.get(channel=Delivery.Channel.ENDPOINT)
    assert delivery.status == Delivery.Status.PENDING and "ConnectError" in delivery.last_error


def test_test_message_reaches_a_webhook(receiver, users):
    hook = endpoint("webhook", receiver.url, secret=SECRET)
    delivery = do_test_endpoint(hook, actor=users.admin)

    send_due()
    assert len(receiver.requests) == 1
    (request,) = receiver.requests
    assert request.json()["event"] == "test" and request.json()["by"] == "admin"
    assert request.headers["Idempotency-Key"] == delivery.key
    assert documented_verify()(SECRET.encode(), request.body, request.headers)


# --- chat tools --------------------------------------------------------------------------------


def test_wecom_gets_markdown_with_the_ticket_and_a_link(receiver, chatty, users, settings):
    settings.FLOWDESK_BASE_URL = "https://flowdesk.example.com"
    endpoint("wecom", receiver.url + "?key=robot-key")
    ticket = chat_ticket(chatty, users)

    send_due()
    assert len(receiver.requests) == 1
    (request,) = receiver.requests
    assert request.query == {"key": ["robot-key"]}
    body = request.json()
    assert body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert content.startswith(f"### [Flowdesk] New to-do: {ticket.sn}\n")
    assert "**Step:** Review" in content and "**Now at:** Review" in content
    assert "**Service:** chatty" in content and "**Scope:** east" in content
    assert "**MD5:** 9e107d9d372bb6826bd81d3542a419d6" in content
    assert content.endswith(f"(https://flowdesk.example.com/tickets/{ticket.sn}/)")
    # The title is the requester's text: it cannot add a link or a tag to the message.
    assert "[DB]" not in content and "<b>" not in content and "Upgrade" in content


def test_dingtalk_signs_the_url_with_its_secret(receiver, chatty, users):
    endpoint("dingtalk", receiver.url + "?access_token=tok", secret="SECdingtalk")
    ticket = chat_ticket(chatty, users)

    send_due()
    assert len(receiver.requests) == 1
    (request,) = receiver.requests
    timestamp, sign = request.query["timestamp"][0], request.query["sign"][0]
    expected = hmac.new(b"SECdingtalk", f"{timestamp}\nSECdingtalk".encode(), hashlib.sha256)
    assert sign == base64.b64encode(expected.digest()).decode()
    assert len(timestamp) == 13 and request.query["access_token"] == ["tok"]  # milliseconds
    body = request.json()
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == f"[Flowdesk] New to-do: {ticket.sn}"
    assert "\n\n**Step:** Review\n\n" in body["markdown"]["text"]


def test_feishu_gets_a_card_signed_in_the_body(receiver, chatty, users):
    endpoint("feishu", receiver.url, secret="feishu-secret")
    receiver.answers.append((200, b'{"code":0,"msg":"success","data":{}}'))
    ticket = chat_ticket(chatty, users)

    send_due()
    assert len(receiver.requests) == 1
    body = receiver.requests[0].json()
    timestamp = body["timestamp"]
    key = f"{timestamp}\nfeishu-secret".encode()
    expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["sign"] == expected and len(timestamp) == 10  # seconds
    assert body["msg_type"] == "interactive"
    card = body["card"]
    title = {"tag": "plain_text", "content": f"[Flowdesk] New to-do: {ticket.sn}"}
    assert card["header"]["title"] == title
    text, action = card["elements"]
    assert text["text"]["tag"] == "lark_md" and "**Step:** Review" in text["text"]["content"]
    (button,) = action["actions"]
    assert button["url"].endswith(f"/tickets/{ticket.sn}/") and button["tag"] == "button"


def test_slack_gets_text_and_blocks(receiver, chatty, users):
    endpoint("slack", receiver.url)
    receiver.answers.append((200, b"ok"))
    ticket = chat_ticket(chatty, users)

    send_due()
    assert len(receiver.requests) == 1
    body = receiver.requests[0].json()
    assert body["text"].startswith(f"[Flowdesk] New to-do: {ticket.sn}: Upgrade")
    header, title, facts, actions_block = body["blocks"]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    assert "&lt;b&gt;" in title["text"]["text"]  # Slack's mrkdwn escaping
    assert {"type": "mrkdwn", "text": "*Step*\nReview"} in facts["fields"]
    assert actions_block["elements"][0]["url"].endswith(f"/tickets/{ticket.sn}/")


def test_chat_message_follows_the_ticket(receiver, chatty, users):
    """The step's completion ends the ticket: the requester's side is told it finished."""
    endpoint("wecom", receiver.url, events=["finished"])
    ticket = chat_ticket(chatty, users, title="Upgrade DB")
    (task,) = Task.objects.filter(ticket=ticket, status=Task.Status.OPEN)
    actions.do_complete_task(task, actor=users.test_bob, values={})

    send_due()
    assert len(receiver.requests) == 1
    content = receiver.requests[0].json()["markdown"]["content"]
    assert content.startswith(f"### [Flowdesk] Ticket finished: {ticket.sn}")
    assert "**Status:** finished" in content and "Now at" not in content


def test_chat_message_speaks_the_default_language(receiver, chatty, users, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    endpoint("wecom", receiver.url)
    chat_ticket(chatty, users, title="升级数据库")

    send_due()
    assert len(receiver.requests) == 1
    content = receiver.requests[0].json()["markdown"]["content"]
    assert "评审" in content and "范围" in content and "升级数据库" in content


@pytest.mark.parametrize(
    ("kind", "answer"),
    [
        ("wecom", b'{"errcode":93000,"errmsg":"invalid webhook url"}'),
        ("dingtalk", b'{"errcode":310000,"errmsg":"sign not match"}'),
        ("feishu", b'{"code":19021,"msg":"sign match fail"}'),
    ],
)
def test_chat_tool_error_code_is_a_failure(receiver, chatty, users, kind, answer):
    endpoint(kind, receiver.url)
    receiver.answers.append((200, answer))
    chat_ticket(chatty, users)

    send_due()
    assert len(receiver.requests) == 1
    delivery = Delivery.objects.get(channel=Delivery.Channel.ENDPOINT)
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.last_error == f"EndpointRefused: 200 {answer.decode()}"
