"""Security headers and cookies, the Content-Security-Policy as a browser enforces it, and
`check --deploy` under the production settings."""

import os
import subprocess
import sys

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from flowdesk.catalog.models import Service
from flowdesk.directory.models import Business
from flowdesk.tickets.actions import do_submit_ticket
from tests.e2e.conftest import PASSWORD, browser_context_args, browser_type_launch_args
from tests.tickets.test_release_scenario import SUBMIT

__all__ = ["browser_context_args", "browser_type_launch_args"]  # chromium, as in tests/e2e


@pytest.fixture
def signed_in(client, users):
    client.force_login(users.pm_alice)
    return client


def test_pages_send_the_security_headers(signed_in):
    response = signed_in.get("/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp and "'unsafe-inline'" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_session_cookie_is_http_only_and_same_site(client, users):
    page = client.get("/accounts/login/")
    response = client.post(
        "/accounts/login/",
        {
            "username": "pm_alice",
            "password": PASSWORD,
            "csrfmiddlewaretoken": page.cookies["csrftoken"].value,
        },
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["httponly"] and session["samesite"] == "Lax"
    assert not session["secure"]  # FLOWDESK_HTTPS is off in tests; on, see the deploy check


def test_api_docs_are_the_one_page_without_the_csp(signed_in):
    """Swagger UI starts itself with an inline script; everything else is under the policy."""
    assert "Content-Security-Policy" not in signed_in.get("/api/docs/")
    assert "Content-Security-Policy" in signed_in.get("/api/v1/tickets/")


def deploy_check(tmp_path, **env: str) -> subprocess.CompletedProcess:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FLOWDESK_"))}
    production = {
        **inherited,
        "FLOWDESK_DATA_DIR": str(tmp_path),
        "FLOWDESK_SECRET_KEY": "k" * 10 + "-a-long-random-production-secret-key-0123456789",
        "FLOWDESK_DEBUG": "false",
        "FLOWDESK_HTTPS": "true",
        "FLOWDESK_ALLOWED_HOSTS": "flowdesk.example.com",
        **env,
    }
    command = [sys.executable, "-m", "flowdesk", "check", "--deploy", "--fail-level", "WARNING"]
    return subprocess.run(command, env=production, capture_output=True, text=True, timeout=120)


def test_deploy_check_is_clean_under_production_settings(tmp_path):
    result = deploy_check(
        tmp_path, FLOWDESK_HSTS_INCLUDE_SUBDOMAINS="true", FLOWDESK_HSTS_PRELOAD="true"
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_deploy_check_names_only_the_hsts_scope_by_default(tmp_path):
    """HSTS for subdomains and preloading bind the whole domain, so they are opt-in
    (docs/hardening.md): by default those two warnings remain, and only those."""
    result = deploy_check(tmp_path)
    found = {word.rstrip(":") for word in result.stderr.split() if word.startswith("?:")}
    warnings = {line.split()[1] for line in result.stderr.splitlines() if "security.W" in line}
    assert found or warnings
    assert warnings == {"(security.W005)", "(security.W021)"}, result.stderr


def test_deploy_check_fails_without_https(tmp_path):
    result = deploy_check(tmp_path, FLOWDESK_HTTPS="false")
    assert result.returncode != 0
    for code in ("W008", "W012", "W016"):  # redirect, session and CSRF cookies
        assert f"security.{code}" in result.stderr


# --- the CSP in a real browser ----------------------------------------------------------------


@pytest.fixture
def ticket(release_service: Service, users):
    return do_submit_ticket(
        release_service,
        actor=users.pm_alice,
        title="Release server 2.4.1",
        business=Business.objects.get(key="game-a"),
        values=SUBMIT,
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pages_run_under_the_csp_without_violations(page: Page, live_server, ticket) -> None:
    """Every script and style of the pages comes from our static files: chromium reports no
    Content Security Policy violation on the workbench, a ticket, its print view and the
    designer, and Alpine, htmx and drawflow still work."""
    messages: list[str] = []
    page.on("console", lambda message: _keep(messages, message))
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#fd-usermenu")).to_be_visible()
    pages = ["/", f"/tickets/{ticket.sn}/", f"/tickets/{ticket.sn}/print/", "/profile/"]
    pages += [
        f"/audit/tickets/{ticket.sn}/report/",
        "/audit/",
        "/catalog/",
        "/catalog/app-release/",
    ]
    pages += [
        "/admin/directory/role/",
        "/manage/",
        "/manage/catalog/",
        "/manage/services/app-release/",
        "/designer/new/",
    ]
    for path in pages:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
    page.goto(f"{base}/designer/app-release/")
    expect(page.locator(".drawflow-node").first).to_be_visible()  # Alpine and drawflow ran
    page.locator("#fdd-yaml-tab").click()  # an Alpine @click handler
    page.wait_for_load_state("networkidle")
    violations = [m for m in messages if "Content Security Policy" in m]
    assert not violations, "\n".join(messages)


def _keep(messages: list[str], message: ConsoleMessage) -> None:
    if message.type in {"error", "warning"}:
        messages.append(f"{message.page.url if message.page else ''}: {message.text[:90]}")
