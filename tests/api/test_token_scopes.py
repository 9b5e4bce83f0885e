"""API token scopes and expiry: a read-only token may only read, an expired one nothing; both
are refused before anything changes. Tokens are made by the CLI, the API and the profile page."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from flowdesk.api.actions import do_create_token, token_expiry
from flowdesk.api.models import ApiToken
from flowdesk.tickets.models import Ticket

from .conftest import NEW_TICKET, SUBMIT, problem


def client_with(user, **options) -> APIClient:
    _token, raw = do_create_token(user, actor=None, **options)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


def new_ticket(client: APIClient):
    return client.post("/api/v1/tickets/", {**NEW_TICKET, "fields": SUBMIT})


def test_a_read_token_reads_but_changes_nothing(users):
    client = client_with(users.pm_alice, scope="read")
    assert client.get("/api/v1/tickets/").status_code == 200
    assert client.get("/api/v1/tokens/").json()[0]["scope"] == "read"
    body = problem(new_ticket(client), 403, "forbidden")
    assert "read-only" in body["detail"]
    token = ApiToken.objects.get(user=users.pm_alice)
    problem(client.delete(f"/api/v1/tokens/{token.pk}/"), 403, "forbidden")
    problem(client.post("/api/v1/tokens/", {"name": "escalate"}), 403, "forbidden")
    assert not Ticket.objects.exists()
    assert ApiToken.objects.filter(user=users.pm_alice).count() == 1
    assert token.revoked_at is None


def test_a_write_token_changes_things(users):
    assert new_ticket(client_with(users.pm_alice, scope="write")).status_code == 201


def test_an_expired_token_is_refused_with_401(users):
    client = client_with(users.pm_alice, expires_at=timezone.now() - timedelta(seconds=1))
    response = new_ticket(client)
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    assert "expired" in response.json()["detail"]
    assert client.get("/api/v1/tickets/").status_code == 401
    assert not Ticket.objects.exists()
    assert ApiToken.objects.get().last_used_at is None


def test_a_token_works_until_it_expires(users):
    client = client_with(users.pm_alice, expires_at=timezone.now() + timedelta(minutes=5))
    assert client.get("/api/v1/tickets/").status_code == 200


def test_an_unknown_scope_is_refused(users):
    with pytest.raises(ValidationError, match="Choose one of"):
        do_create_token(users.pm_alice, scope="admin", actor=None)


@pytest.mark.parametrize(
    ("lifetime", "expected"),
    [("90d", timedelta(days=90)), ("12h", timedelta(hours=12)), (" 7D ", timedelta(days=7))],
)
def test_token_expiry_reads_days_and_hours(lifetime, expected):
    assert abs(token_expiry(lifetime) - (timezone.now() + expected)) < timedelta(seconds=5)


@pytest.mark.parametrize("lifetime", ["0d", "90", "-1d", "1w", "99999999d", "90d; drop"])
def test_token_expiry_refuses_other_text(lifetime):
    with pytest.raises(ValueError, match="e.g. 90d"):
        token_expiry(lifetime)


def test_the_default_lifetime_comes_from_the_settings(settings):
    assert token_expiry("") is None and token_expiry("never") is None  # default 0: never
    settings.FLOWDESK_TOKEN_DEFAULT_DAYS = 30
    assert token_expiry("") > timezone.now() + timedelta(days=29)
    assert token_expiry("never") is None


def test_the_command_creates_a_scoped_expiring_token(users, capsys):
    call_command("token", "create", "pm_alice", "--scope", "read", "--expires", "90d")
    raw = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(user=users.pm_alice)
    assert raw.startswith(token.prefix) and token.scope == "read"
    assert token.expires_at > timezone.now() + timedelta(days=89)


def test_the_command_refuses_a_bad_lifetime(users):
    with pytest.raises(CommandError, match="--expires"):
        call_command("token", "create", "pm_alice", "--expires", "soon")
    assert not ApiToken.objects.exists()


def test_the_api_creates_a_scoped_expiring_token(clients, users):
    created = clients.pm_alice.post(
        "/api/v1/tokens/", {"name": "ci", "scope": "read", "expires": "30d"}
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["scope"] == "read" and body["expires_at"] is not None
    bad = clients.pm_alice.post("/api/v1/tokens/", {"scope": "read", "expires": "soon"})
    assert problem(bad, 400, "invalid")["errors"]["expires"]
    assert problem(clients.pm_alice.post("/api/v1/tokens/", {"scope": "root"}), 400, "invalid")


def test_the_profile_page_creates_a_scoped_expiring_token(client, users):
    client.force_login(users.pm_alice)
    response = client.post("/profile/tokens/", {"name": "ci", "scope": "read", "expires": "30d"})
    assert response.status_code == 200 and "fd-new-token" in response.content.decode()
    token = ApiToken.objects.get(user=users.pm_alice)
    assert token.scope == "read" and token.expires_at > timezone.now() + timedelta(days=29)
    assert "read only" in client.get("/profile/").content.decode()
    refused = client.post("/profile/tokens/", {"scope": "read", "expires": "soon"}, follow=True)
    assert "e.g. 90d" in refused.content.decode()
    assert ApiToken.objects.count() == 1
