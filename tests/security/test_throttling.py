"""Login throttling (django-axes): repeated failures lock a username out from one address for a
while; every sign-in, failure and lock-out is in the audit log; API tokens are unaffected."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from rest_framework.test import APIClient

from flowdesk.api.actions import do_create_token
from flowdesk.audit.models import AuditEntry
from tests.e2e.conftest import PASSWORD

LIMIT = 5  # settings.AXES_FAILURE_LIMIT (FLOWDESK_LOGIN_FAILURE_LIMIT's default)


def sign_in(password: str, username: str = "pm_alice", address: str = "198.51.100.7"):
    client = Client(REMOTE_ADDR=address)
    response = client.post("/accounts/login/", {"username": username, "password": password})
    return client, response


def fail(times: int, **kwargs: str) -> None:
    for _ in range(times):
        _client, response = sign_in("wrong", **kwargs)
        assert response.status_code in {200, 429}  # the form again, or the lock-out page


def audit(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("seq"))


def test_a_good_password_signs_in_and_is_recorded(users):
    client, response = sign_in(PASSWORD)
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    (entry,) = audit("auth.logged_in")
    assert entry.actor == users.pm_alice and entry.source == "web"
    assert entry.address == "198.51.100.7"


def test_failures_lock_the_username_out_from_that_address(users):
    fail(LIMIT)
    client, response = sign_in(PASSWORD)  # the right password, too late
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    failed = audit("auth.login_failed")
    assert len(failed) == LIMIT + 1  # the blocked attempt counts as failed too
    assert {e.obj_id for e in failed} == {"pm_alice"} and failed[0].actor is None
    assert failed[0].address == "198.51.100.7"
    assert audit("auth.locked_out")[0].data["username"] == "pm_alice"
    assert not audit("auth.logged_in")


def test_the_lock_is_per_username_and_address(users):
    fail(LIMIT)
    assert sign_in(PASSWORD, address="203.0.113.9")[1].status_code == 302
    assert sign_in(PASSWORD, username="test_bob")[1].status_code == 302


def test_fewer_failures_than_the_limit_still_sign_in_and_reset_the_count(users):
    fail(LIMIT - 1)
    assert sign_in(PASSWORD)[1].status_code == 302
    fail(LIMIT - 1)  # counted from zero again
    assert sign_in(PASSWORD)[1].status_code == 302


def test_the_lock_ends_after_the_cool_off(users):
    fail(LIMIT)
    assert sign_in(PASSWORD)[1].status_code == 429
    # axes keeps its own bookkeeping rows; age them past FLOWDESK_LOGIN_LOCKOUT_MINUTES (15).
    for attempt in AccessAttempt.objects.all():
        AccessAttempt.objects.filter(pk=attempt.pk).update(
            attempt_time=attempt.attempt_time - timedelta(minutes=16)
        )
    assert sign_in(PASSWORD)[1].status_code == 302


def test_a_locked_out_user_s_api_token_still_works(users):
    fail(LIMIT)
    _token, raw = do_create_token(users.pm_alice, actor=None)
    api = APIClient(REMOTE_ADDR="198.51.100.7")
    api.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert api.get("/api/v1/tickets/").status_code == 200
    assert api.post("/api/v1/tickets/", {}, format="json").status_code == 400  # not 429


@pytest.mark.parametrize("username", ["nobody-here", "<script>alert(1)</script>", "é" * 300])
def test_failures_for_unknown_or_hostile_usernames_are_recorded(db, username):
    _client, response = sign_in("wrong", username=username)
    assert response.status_code == 200
    (entry,) = audit("auth.login_failed")
    assert entry.actor is None and username.startswith(entry.obj_id)


def test_a_nul_in_the_username_is_refused_by_the_form(db):
    _client, response = sign_in("wrong", username="a\x00b")
    assert (
        response.status_code == 200
        and "Null characters are not allowed" in response.content.decode()
    )
    assert not AccessAttempt.objects.exists()
