"""schemathesis against /api/schema/, in-process: no input gives a 500, and every response
matches the schema (status, content type and body)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from flowdesk.api.actions import do_create_token
from flowdesk.wsgi import application
from tests.api.conftest import NEW_TICKET, SUBMIT

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


@pytest.fixture
def keep_connection(admin_token):
    """Calls go straight to the WSGI app, whose request signals would close the test's database
    connection (and its transaction) on PostgreSQL. Django's test client detaches them only
    during its own requests, so this runs after the set-up that uses it."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def admin_token(users, clients) -> str:
    """An admin's token (every endpoint open to it) and a ticket to act on."""
    clients.pm_alice.post("/api/v1/tickets/", {**NEW_TICKET, "fields": SUBMIT})
    _token, raw = do_create_token(users.admin, actor=None)
    return raw


@pytest.mark.fuzz
@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_schema(case, admin_token, keep_connection):
    case.call_and_validate(headers={"Authorization": f"Token {admin_token}"}, checks=CHECKS)
