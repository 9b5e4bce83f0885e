"""API clients that authenticate with a token of a demo user, as a pipeline would."""

import pytest
from rest_framework.test import APIClient

from flowdesk.api.actions import do_create_token
from tests.packages import PACKAGE_MD5, PACKAGE_URL, run_automation

MD5 = PACKAGE_MD5  # the served package's: the demo's checksum step downloads it
SUBMIT = {
    "package_url": PACKAGE_URL,
    "package_md5": MD5,
    "release_scope": "All game-a servers in region east",
    "planned_at": "2026-11-28T02:00:00+08:00",
}
TEST_PASS = {"test_assessment": "low_risk", "test_result": "pass", "test_summary": "All green"}
TEST_FAIL = {"test_assessment": "high_risk", "test_result": "fail", "test_summary": "Crash"}
NEW_TICKET = {"service": "app-release", "business": "game-a", "title": "Release 2.4.1"}


class Clients:
    """`clients.pm_alice` – an APIClient sending a fresh token of that demo user."""

    def __init__(self, users):
        self._users = users
        self._cache = {}

    def __getattr__(self, username: str) -> APIClient:
        if username.startswith("_"):
            raise AttributeError(username)
        if username not in self._cache:
            _token, raw = do_create_token(getattr(self._users, username), actor=None)
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
            self._cache[username] = client
        return self._cache[username]


@pytest.fixture
def clients(users) -> Clients:
    return Clients(users)


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


def problem(response, status: int, code: str) -> dict:
    """Assert `response` is a problem+json with this status and code; return its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["code"] == code, body
    assert body["detail"] and body["title"] and body["type"]
    return body


def submit(client: APIClient, **overrides) -> dict:
    fields = {**SUBMIT, **overrides.pop("fields", {})}
    response = client.post("/api/v1/tickets/", {**NEW_TICKET, **overrides, "fields": fields})
    assert response.status_code == 201, response.content
    run_automation()  # the package check, as the worker would: the ticket moves on
    return client.get(f"/api/v1/tickets/{response.json()['sn']}/").json()


def task_on(ticket: dict, node: str) -> dict:
    (task,) = [t for t in ticket["tasks"] if t["node"] == node]
    return task
