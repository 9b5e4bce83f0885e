"""Cursor pagination stays correct while tickets are created between pages, and list endpoints
cost a bounded number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from flowdesk.directory.models import Business
from flowdesk.tickets.actions import do_submit_ticket
from tests.api.conftest import SUBMIT
from tests.packages import run_automation

pytestmark = pytest.mark.django_db


def make_tickets(service, user, count: int) -> None:
    business = Business.objects.get(key="game-a")
    for i in range(count):
        do_submit_ticket(service, actor=user, title=f"T{i}", values=SUBMIT, business=business)
    run_automation()  # the package checks, as the worker would: the tickets reach testing


def walk(client, url: str, params: dict, between=None) -> list:
    """Follow `next` links to the end; call `between()` after each page."""
    seen, response = [], client.get(url, params)
    while True:
        body = response.json()
        seen += body["results"]
        if between:
            between()
        if not body["next"]:
            return seen
        response = client.get(body["next"])


def test_ticket_pages_neither_repeat_nor_skip_under_inserts(clients, users, release_service):
    make_tickets(release_service, users.pm_alice, 7)
    before = [t["sn"] for t in walk(clients.pm_alice, "/api/v1/tickets/", {"page_size": 100})]
    assert len(before) == 7

    seen = walk(
        clients.pm_alice,
        "/api/v1/tickets/",
        {"page_size": 2},
        between=lambda: make_tickets(release_service, users.pm_alice, 1),
    )
    sns = [t["sn"] for t in seen]
    assert len(sns) == len(set(sns))  # no duplicates
    assert sns == before  # newest first: what was there, in order, none skipped


def test_todo_pages_neither_repeat_nor_skip_under_inserts(clients, users, release_service):
    make_tickets(release_service, users.pm_alice, 5)
    seen = walk(
        clients.test_bob,
        "/api/v1/tasks/",
        {"todo": 1, "page_size": 2},
        between=lambda: make_tickets(release_service, users.pm_alice, 1),
    )
    ids = [t["id"] for t in seen]
    assert len(ids) == len(set(ids)) and ids == sorted(ids)
    assert len(ids) >= 5  # the first five, oldest first, then whatever arrived meanwhile


def test_filters_and_shorthands(clients, users, release_service):
    make_tickets(release_service, users.pm_alice, 2)
    admin = clients.admin
    assert len(admin.get("/api/v1/tickets/", {"mine": 1}).json()["results"]) == 0
    alice = clients.pm_alice.get("/api/v1/tickets/", {"mine": "1", "q": "T1"}).json()
    assert [t["title"] for t in alice["results"]] == ["T1"]
    todo = clients.test_bob.get("/api/v1/tickets/", {"todo": "true"}).json()["results"]
    assert len(todo) == 2
    assert clients.test_bob.get("/api/v1/tickets/", {"scope": "mine"}).json()["results"] == []
    sn = todo[0]["sn"]
    tasks = clients.test_bob.get("/api/v1/tasks/", {"ticket": sn}).json()["results"]
    assert [t["ticket"]["sn"] for t in tasks] == [sn]


def count_queries(client, url: str, params: dict | None = None) -> int:
    client.get(url, params)  # the token's last_used_at is written on the first call
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    ("user", "url", "params"),
    [
        ("admin", "/api/v1/tickets/", {"page_size": 50}),
        ("pm_alice", "/api/v1/tickets/", {"page_size": 50, "mine": 1}),
        ("test_bob", "/api/v1/tickets/", {"page_size": 50, "scope": "todo"}),
        ("admin", "/api/v1/catalog/", None),
        ("pm_alice", "/api/v1/services/", None),
        ("admin", "/api/v1/roles/", None),
        ("admin", "/api/v1/users/", None),
        ("admin", "/api/v1/workflows/", None),
    ],
)
def test_list_queries_do_not_grow_with_rows(clients, users, release_service, user, url, params):
    client = getattr(clients, user)
    make_tickets(release_service, users.pm_alice, 3)
    few = count_queries(client, url, params)
    make_tickets(release_service, users.pm_alice, 27)
    assert count_queries(client, url, params) == few


def test_history_queries_do_not_grow_with_events(clients, users, release_service):
    make_tickets(release_service, users.pm_alice, 1)
    sn = clients.pm_alice.get("/api/v1/tickets/").json()["results"][0]["sn"]
    url = f"/api/v1/tickets/{sn}/events/"
    few = count_queries(clients.pm_alice, url)
    for i in range(10):
        clients.pm_alice.post(f"/api/v1/tickets/{sn}/comment/", {"text": f"c{i}"})
    assert count_queries(clients.pm_alice, url) == few


def test_todo_list_queries_do_not_grow_with_the_page(clients, users, release_service):
    """The allowed actions of a whole page come from one tasks_actions call."""
    make_tickets(release_service, users.pm_alice, 3)
    three = count_queries(clients.test_bob, "/api/v1/tasks/", {"todo": 1, "page_size": 50})
    make_tickets(release_service, users.pm_alice, 27)
    thirty = count_queries(clients.test_bob, "/api/v1/tasks/", {"todo": 1, "page_size": 50})
    assert thirty == three
