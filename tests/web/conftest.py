import pytest
from django.test import Client

from flowdesk.directory.models import Business
from flowdesk.tickets import actions
from tests.packages import PACKAGE_MD5, PACKAGE_URL, run_automation

MD5 = PACKAGE_MD5  # the served package's: the demo's checksum step downloads it
SUBMIT = {
    "package_url": PACKAGE_URL,
    "package_md5": MD5,
    "release_scope": "All game-a servers",
    "planned_at": "2026-11-28T02:00:00Z",
}


@pytest.fixture
def client_for(users):
    """`client_for("pm_alice")`: a test client signed in as that demo user."""

    def make(username: str) -> Client:
        client = Client()
        client.force_login(getattr(users, username))
        return client

    return make


@pytest.fixture
def submit(release_service, users):
    """`submit(title=...)`: pm_alice submits a release for Game A through the action."""

    def make(title: str = "Release server 2.4.1", user: str = "pm_alice"):
        ticket = actions.do_submit_ticket(
            release_service,
            actor=getattr(users, user),
            title=title,
            business=Business.objects.get(key="game-a"),
            values=SUBMIT,
        )
        run_automation()  # the package check, as the worker would
        ticket.refresh_from_db()
        return ticket

    return make
