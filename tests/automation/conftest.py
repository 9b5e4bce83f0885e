"""A small HTTP server in the test process, and a service whose workflow has one automation
step between submit and a human review."""

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flowdesk.automation import calls, runner
from flowdesk.automation.models import AutomationRun
from flowdesk.catalog.models import Service
from flowdesk.directory.models import Role
from flowdesk.tickets.actions import do_submit_ticket
from flowdesk.tickets.models import Ticket
from tests.factories import deploy_service, global_workflow

SECRETS = {"DEPLOY_TOKEN": "tok-123", "CALLBACK_KEY": "callback-secret"}


@dataclass
class Reply:
    status: int = 200
    body: object = None  # JSON, or bytes as they are
    delay: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    headers: dict
    body: bytes


@dataclass
class FakeSystem:
    """Routes: path -> a list of replies, used in turn (the last one repeats)."""

    url: str
    routes: dict[str, list[Reply]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def reply(self, path: str, *replies: Reply) -> None:
        self.routes[path] = list(replies)

    def next_reply(self, path: str) -> Reply:
        replies = self.routes.get(path) or [Reply(404, {"error": "no route"})]
        return replies.pop(0) if len(replies) > 1 else replies[0]

    def calls_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]


def _handler(system: FakeSystem) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            system.seen.append(Seen(self.command, self.path, dict(self.headers), body))
            reply = system.next_reply(self.path)
            time.sleep(reply.delay)
            data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)  # unless the client gave up (a timeout test)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def system() -> Iterator[FakeSystem]:
    fake = FakeSystem(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def automation_settings(settings, monkeypatch):
    settings.FLOWDESK_SECRETS = dict(SECRETS)
    settings.FLOWDESK_AUTOMATION_ALLOWED_HOSTS = []
    monkeypatch.setattr(calls, "RETRY_DELAY", 0.01)


FIELDS = [
    {"key": "version", "type": "string", "label": "Version"},
    {"key": "package_url", "type": "url", "label": "Package"},
    {"key": "package_md5", "type": "checksum", "algorithm": "md5", "label": "MD5"},
    {"key": "deploy_id", "type": "string", "label": "Deployment"},
    {"key": "deploy_state", "type": "string", "label": "State"},
    {"key": "note", "type": "string", "label": "Note"},
]


def automation_service(
    key: str, automation: dict, service_options: dict | None = None, **node: object
) -> Service:
    """submit -> run (automation, operators ops_frank) -> review (test_bob) -> done."""
    document = global_workflow(
        key,
        [
            {
                "id": "run",
                "type": "automation",
                "name": "Deploy",
                "operators": [{"type": "users", "users": ["ops_frank"]}],
                "fields": ["deploy_id", "deploy_state", "note"],
                "automation": automation,
                **node,
            },
            {
                "id": "review",
                "type": "task",
                "name": "Review",
                "operators": [{"type": "users", "users": ["test_bob"]}],
            },
        ],
        [
            {"from": "submit", "to": "run"},
            {"from": "run", "to": "review"},
            {"from": "review", "to": "done"},
        ],
        start_fields=["version", "package_url", "package_md5"],
        fields=FIELDS,
    )
    return deploy_service(document, **(service_options or {}))


@pytest.fixture
def submit(users) -> Callable[..., Ticket]:
    def submit(service: Service, **values: object) -> Ticket:
        return do_submit_ticket(
            service,
            actor=users.pm_alice,
            title="Release",
            values={"version": "2.4.1", **values},
        )

    return submit


def run_of(ticket: Ticket, attempt: int = 1) -> AutomationRun:
    return AutomationRun.objects.get(ticket=ticket, attempt=attempt)


def work(run: AutomationRun) -> AutomationRun:
    """What the enqueued task does, synchronously; the run as it is afterwards."""
    runner.run_claimed([run.pk])
    run.refresh_from_db()
    return run


def failing_service(system: FakeSystem) -> Service:
    """Its call answers 500 (no retries); outputs deploy_id from `id`."""
    system.reply("/deploy", Reply(500, {"error": "down"}))
    return automation_service(
        "deploy-failing",
        {
            "action": "http",
            "request": {"url": system.url + "/deploy", "body": {"v": "{{ values.version }}"}},
            "retries": 0,
            "outputs": {"deploy_id": "id"},
        },
    )


@pytest.fixture
def failed(system, submit) -> tuple[Ticket, AutomationRun]:
    """A ticket waiting at its failed automation step; (ticket, run)."""
    ticket = submit(failing_service(system))
    run = work(run_of(ticket))
    assert run.status == AutomationRun.Status.FAILED
    return ticket, run


def unstarted_run(requester) -> AutomationRun:
    """A ticket of `requester` (a product manager) whose automation step was not worked on
    yet: nothing is called. The service is offered to product managers only, so that it does
    not show in other people's lists (for permission matrices)."""
    product = {"visibility": "roles", "visible_roles": [Role.objects.get(key="product")]}
    service = automation_service(
        "matrix-automation",
        {"action": "http", "request": {"url": "http://127.0.0.1:9/"}},
        service_options=product,
    )
    ticket = do_submit_ticket(service, actor=requester, title="Automated", values={})
    return run_of(ticket)
