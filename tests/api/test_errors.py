"""Errors are problem+json with the right status and code, and change nothing."""

import threading

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from flowdesk.api.actions import do_create_token, do_revoke_token
from flowdesk.api.models import ApiToken, IdempotencyKey
from flowdesk.directory.actions import do_remove_role_member, do_save_user
from flowdesk.directory.models import Business, Role
from flowdesk.tickets.models import Event, Ticket
from tests.api.conftest import NEW_TICKET, SUBMIT, TEST_PASS, problem, submit, task_on

pytestmark = pytest.mark.django_db


def test_second_action_on_a_handled_task_is_a_conflict_naming_who_and_when(clients):
    ticket = submit(clients.pm_alice)
    task = task_on(ticket, "test_confirm")
    url = f"/api/v1/tasks/{task['id']}/complete/"
    assert clients.test_bob.post(url, {"fields": TEST_PASS}).status_code == 200
    events = Event.objects.count()
    body = problem(clients.test_bob.post(url, {"fields": TEST_PASS}), 409, "conflict")
    assert body["detail"].startswith("This task was already handled by test_bob at 20")
    assert Event.objects.count() == events


def test_wrong_values_are_400_with_per_field_errors(clients):
    response = clients.pm_alice.post(
        "/api/v1/tickets/",
        {
            **NEW_TICKET,
            "title": " ",
            "fields": {**SUBMIT, "package_md5": "nope", "package_url": ""},
        },
    )
    body = problem(response, 400, "invalid")
    assert set(body["errors"]) == {"title", "package_md5", "package_url"}  # all at once
    response = clients.pm_alice.post(
        "/api/v1/tickets/", {**NEW_TICKET, "fields": {**SUBMIT, "package_md5": "nope"}}
    )
    assert set(problem(response, 400, "invalid")["errors"]) == {"package_md5"}
    response = clients.pm_alice.post("/api/v1/tickets/", {**NEW_TICKET, "service": "nope"})
    assert problem(response, 400, "invalid")["errors"] == {"service": ["No service 'nope'."]}
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {**NEW_TICKET, "title": "a\x00b", "fields": SUBMIT},
        {**NEW_TICKET, "fields": {**SUBMIT, "release_scope": "\x00"}},
        {**NEW_TICKET, "fields": {"\x00": 1}},
        {**NEW_TICKET, "fields": [1, 2]},
        {**NEW_TICKET, "fields": {**SUBMIT, "release_scope": {"a": [1]}}},
        {**NEW_TICKET, "service": 12, "business": ["game-a"]},
        {**NEW_TICKET, "fields": {**SUBMIT, "release_scope": 10**400}},
        [NEW_TICKET],
        "just a string",
    ],
)
def test_bad_input_is_400_never_500(clients, body):
    problem(clients.pm_alice.post("/api/v1/tickets/", body, format="json"), 400, "invalid")
    assert not Ticket.objects.exists()


def test_malformed_or_hostile_json_is_400(clients):
    for raw in ['{"title": ', '{"a": 1e999}', "[" * 100_000, '{"t": "\\ud800"}', "NaN"]:
        response = clients.pm_alice.post("/api/v1/tickets/", raw, content_type="application/json")
        problem(response, 400, "invalid")


def test_nul_in_query_and_path_and_huge_ids_are_not_500(clients):
    problem(clients.admin.get("/api/v1/tickets/", {"q": "a\x00"}), 400, "invalid")
    problem(clients.admin.get("/api/v1/tickets/CRQ%00/"), 404, "not_found")
    problem(clients.admin.get("/api/v1/tasks/99999999999999999999999/"), 404, "not_found")
    problem(clients.admin.get("/api/v1/tickets/", {"created_after": "yesterday"}), 400, "invalid")
    problem(clients.admin.get("/api/v1/tickets/", {"cursor": "garbage"}), 404, "not_found")
    problem(clients.admin.get("/api/v1/nowhere/"), 404, "not_found")


def test_nobody_to_handle_a_step_is_422_and_changes_nothing(clients, users):
    # Submitting now reaches the automated package check first (a system step, never refused),
    # so the refusal is shown on the action that reaches a human step with nobody to handle it.
    ticket = submit(clients.pm_alice)
    task = task_on(ticket, "test_confirm")
    do_remove_role_member(
        Role.objects.get(key="ops"),
        users.ops_carol,
        business=Business.objects.get(key="game-a"),
        actor=None,
    )
    events = Event.objects.count()
    url = f"/api/v1/tasks/{task['id']}/complete/"
    body = problem(clients.test_bob.post(url, {"fields": TEST_PASS}), 422, "no_operator")
    assert "Coordinate release resources" in body["detail"]
    assert Event.objects.count() == events
    after = clients.test_bob.get(f"/api/v1/tickets/{ticket['sn']}/").json()
    assert after["current_nodes"] == [{"id": "test_confirm", "name": "Test confirmation"}]
    assert after["version"] == ticket["version"] and after["fields"] == ticket["fields"]
    assert task_on(after, "test_confirm")["id"] == task["id"]


def test_a_wrong_return_target_is_400_on_target(clients):
    task = task_on(submit(clients.pm_alice), "test_confirm")
    response = clients.test_bob.post(
        f"/api/v1/tasks/{task['id']}/return/", {"target": "release", "reason": "x"}
    )
    assert "target" in problem(response, 400, "invalid")["errors"]
    response = clients.test_bob.post(f"/api/v1/tasks/{task['id']}/transfer/", {"user": "nobody"})
    assert problem(response, 400, "invalid")["errors"] == {"user": ["No active user 'nobody'."]}


def test_a_retried_create_with_the_same_key_returns_the_same_ticket(clients):
    post = {"path": "/api/v1/tickets/", "data": {**NEW_TICKET, "fields": SUBMIT}}
    first = clients.pm_alice.post(**post, HTTP_IDEMPOTENCY_KEY="build-42")
    again = clients.pm_alice.post(**post, HTTP_IDEMPOTENCY_KEY="build-42")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["sn"] == again.json()["sn"]
    assert Ticket.objects.count() == 1
    # Another key, or another user with the same key, is another ticket.
    assert clients.pm_alice.post(**post, HTTP_IDEMPOTENCY_KEY="build-43").status_code == 201
    assert Ticket.objects.count() == 2


def test_a_failed_create_frees_its_idempotency_key(clients):
    bad = {**NEW_TICKET, "fields": {**SUBMIT, "package_md5": "nope"}}
    response = clients.pm_alice.post("/api/v1/tickets/", bad, HTTP_IDEMPOTENCY_KEY="k")
    problem(response, 400, "invalid")
    assert not IdempotencyKey.objects.exists()
    good = {**NEW_TICKET, "fields": SUBMIT}
    assert (
        clients.pm_alice.post("/api/v1/tickets/", good, HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_with_one_key_make_one_ticket(demo, users):
    _token, raw = do_create_token(users.pm_alice, actor=None)
    codes, barrier = [], threading.Barrier(4)

    def create() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {raw}", HTTP_IDEMPOTENCY_KEY="same")
        barrier.wait()
        try:
            codes.append(
                client.post("/api/v1/tickets/", {**NEW_TICKET, "fields": SUBMIT}).status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Ticket.objects.count() == 1
    assert codes.count(201) == 1 and set(codes) <= {200, 201, 409}


def test_tokens_revoked_unknown_or_of_inactive_users_are_401(clients, users, anonymous):
    token, raw = do_create_token(users.test_bob, actor=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert client.get("/api/v1/catalog/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    do_revoke_token(token, actor=users.test_bob)
    body = problem(client.get("/api/v1/catalog/"), 401, "not_authenticated")
    assert "revoked" in body["detail"]

    _token, raw = do_create_token(users.ops_frank, actor=None)
    do_save_user("ops_frank", is_active=False, actor=None)
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    problem(client.get("/api/v1/catalog/"), 401, "not_authenticated")
    client.credentials(HTTP_AUTHORIZATION="Token fd_made-up")
    problem(client.get("/api/v1/catalog/"), 401, "not_authenticated")
    response = problem(anonymous.get("/api/v1/catalog/"), 401, "not_authenticated")
    assert anonymous.get("/api/v1/catalog/")["WWW-Authenticate"] == "Token"
    assert response


def test_last_used_is_written_at_most_once_a_minute(users):
    token, raw = do_create_token(users.test_bob, actor=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    client.get("/api/v1/catalog/")
    token.refresh_from_db()
    first = token.last_used_at
    client.get("/api/v1/catalog/")
    token.refresh_from_db()
    assert token.last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(
        last_used_at=timezone.now() - timezone.timedelta(minutes=2)
    )
    client.get("/api/v1/catalog/")
    token.refresh_from_db()
    assert token.last_used_at > first


def test_session_authentication_works_for_the_web_pages(users):
    client = APIClient()
    client.force_login(users.test_bob)
    assert client.get("/api/v1/tasks/", {"todo": 1}).status_code == 200


def test_unknown_api_paths_are_problems_for_any_method_and_text(clients):
    problem(clients.admin.get("/api/v1/tasks/8%0AD6%3F/"), 404, "not_found")
    problem(clients.admin.post("/api/v1/tickets/%C2%84/follow/"), 404, "not_found")
