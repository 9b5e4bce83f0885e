"""Fixtures of the notification tests: a real SMTP server in the test process (aiosmtpd), the
outbox run as a worker runs it, and the seed scenario's steps."""

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from django.test import Client

from flowdesk.directory.models import Business
from flowdesk.tickets import actions
from flowdesk.tickets.models import open_tasks_for
from tests.packages import PACKAGE_MD5, PACKAGE_URL, run_automation

MD5 = PACKAGE_MD5  # the served package's: the demo's checksum step downloads it
SUBMIT = {
    "package_url": PACKAGE_URL,
    "package_md5": MD5,
    "release_scope": "All game-a servers",
    "planned_at": "2026-11-28T02:00:00Z",
}
TEST_PASS = {"test_assessment": "low_risk", "test_result": "pass", "test_summary": "All green"}
BASE_URL = "https://flowdesk.example.com"


class Inbox:
    """The aiosmtpd handler: keeps what it is sent, with the envelope's recipients."""

    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        mail = message_from_bytes(envelope.original_content, policy=policy.default)
        mail["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.mails.append(mail)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [mail for mail in self.mails if mail["X-Envelope-To"] == address]


class SmtpServer:
    """A mail server on a fixed free port that can be stopped and started again."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        with socket.socket() as probe:  # Controller cannot take port 0: find a free one
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller: Controller | None = None

    def start(self) -> None:
        # A stopped Controller cannot start again (its event loop is closed): make a new one.
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def mails(self) -> list[EmailMessage]:
        return self.inbox.mails


@pytest.fixture
def smtp(settings):
    """Django's SMTP backend sending to a real SMTP server in this process."""
    server = SmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.FLOWDESK_BASE_URL = BASE_URL
    settings.TIME_ZONE = "Asia/Shanghai"
    yield server
    server.stop()


@pytest.fixture
def submit(release_service, users):
    """`submit()`: pm_alice files the seed's release for Game A, through the action."""

    def make(title: str = "Release server 2.4.1"):
        ticket = actions.do_submit_ticket(
            release_service,
            actor=users.pm_alice,
            title=title,
            business=Business.objects.get(key="game-a"),
            values=SUBMIT,
        )
        run_automation()  # the package check, as the worker would
        ticket.refresh_from_db()
        return ticket

    return make


def todo(user, ticket):
    """The user's one open task on the ticket."""
    (task,) = open_tasks_for(user).filter(ticket=ticket)
    return task


@pytest.fixture
def admin_client(users) -> Client:
    client = Client()
    client.force_login(users.admin)
    return client
