import pytest
from django.test import Client

from flowdesk.directory.models import Business
from flowdesk.tickets import actions

MD5 = "9e107d9d372bb6826bd81d3542a419d6"
SUBMIT = {
    "package_url": "https://artifacts.example.com/game-a/server-2.4.1.tar.gz",
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
        return actions.do_submit_ticket(
            release_service,
            actor=getattr(users, user),
            title=title,
            business=Business.objects.get(key="game-a"),
            values=SUBMIT,
        )

    return make
