"""OpenID Connect: the claims → user and roles mapping, with the identity provider's token
exchange and signature check stubbed (no real IdP), and the login page's SSO button."""

import importlib
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory, override_settings
from django.urls import clear_url_caches

import flowdesk.urls
from flowdesk.directory.access import WORKFLOW_DESIGNERS, can_design_workflows
from flowdesk.directory.models import RoleMembership, get_profile
from flowdesk.directory.sso import FlowdeskOIDCBackend
from flowdesk.directory.sso_settings import OIDC_BACKEND, oidc_settings, sso_settings

pytestmark = pytest.mark.django_db

ENV = {
    "FLOWDESK_OIDC_ISSUER": "https://idp.example.org",
    "FLOWDESK_OIDC_CLIENT_ID": "flowdesk",
    "FLOWDESK_OIDC_CLIENT_SECRET": "s3cret",
    "FLOWDESK_OIDC_AUTHORIZATION_ENDPOINT": "https://idp.example.org/authorize",
    "FLOWDESK_OIDC_TOKEN_ENDPOINT": "https://idp.example.org/token",
    "FLOWDESK_OIDC_USERINFO_ENDPOINT": "https://idp.example.org/userinfo",
    "FLOWDESK_OIDC_JWKS_ENDPOINT": "https://idp.example.org/jwks",
    "FLOWDESK_OIDC_ROLE_MAP": json.dumps(
        {
            "flowdesk-qc": {"role": "QC"},
            "ops-game-a": {"role": "ops", "business": "game-a"},
            "designers": {"permission": WORKFLOW_DESIGNERS},
        }
    ),
}


def reload_urls() -> None:
    clear_url_caches()
    importlib.reload(flowdesk.urls)


@pytest.fixture
def oidc(demo):
    """Flowdesk as FLOWDESK_OIDC_* configure it, URLs included."""
    with override_settings(**oidc_settings(ENV), FLOWDESK_OIDC_ENABLED=True):
        reload_urls()
        yield
    reload_urls()


def sign_in(monkeypatch, claims: dict):
    """What the callback does once the IdP answers: `claims` are the verified userinfo."""
    backend = FlowdeskOIDCBackend()
    monkeypatch.setattr(
        backend, "get_token", lambda payload: {"id_token": "i", "access_token": "a"}
    )
    monkeypatch.setattr(backend, "verify_token", lambda token, nonce: {"sub": "42"})
    monkeypatch.setattr(backend, "get_userinfo", lambda access, id_token, payload: claims)
    request = RequestFactory().get("/oidc/callback/", {"code": "c", "state": "s"})
    request.session = Client().session
    return backend.authenticate(request)


def memberships(user) -> set[tuple[str, str | None]]:
    rows = RoleMembership.objects.filter(user=user)
    return set(rows.values_list("role__key", "business__key"))


def test_claims_make_the_user_profile_and_roles(oidc, monkeypatch):
    claims = {
        "preferred_username": "olga",
        "email": "olga@example.org",
        "name": "Olga (ops A)",
        "groups": ["ops-game-a", "designers", "unmapped"],
    }
    user = sign_in(monkeypatch, claims)
    assert user.username == "olga" and user.email == "olga@example.org"
    assert get_profile(user).display_name == "Olga (ops A)"
    assert memberships(user) == {("ops", "game-a")}
    assert can_design_workflows(user)
    # Next sign-in: the IdP moved her from ops to QC; the map is authoritative for both.
    user = sign_in(monkeypatch, {**claims, "groups": ["flowdesk-qc"]})
    assert memberships(user) == {("QC", None)}
    assert not get_user_model().objects.get(username="olga").groups.exists()


def test_people_are_matched_by_username_never_by_email(oidc, monkeypatch, users):
    claims = {"preferred_username": "mallory", "email": "pm_alice@example.com", "groups": []}
    user = sign_in(monkeypatch, claims)
    assert user.username == "mallory" and user.pk != users.pm_alice.pk


def test_claims_without_a_username_sign_nobody_in(oidc, monkeypatch):
    assert sign_in(monkeypatch, {"email": "x@example.org", "groups": ["flowdesk-qc"]}) is None
    assert not get_user_model().objects.filter(email="x@example.org").exists()


def test_sso_button_only_when_configured(demo, oidc):
    page = Client().get("/accounts/login/?next=/changes/").content.decode()
    assert 'href="/oidc/authenticate/?next=/changes/"' in page


def test_no_sso_button_by_default(db):
    page = Client().get("/accounts/login/").content.decode()
    assert "/oidc/" not in page and "Sign in with SSO" not in page


def test_settings_from_the_environment():
    assert sso_settings({})["FLOWDESK_SSO_BACKENDS"] == []
    assert sso_settings(ENV)["FLOWDESK_SSO_BACKENDS"] == [OIDC_BACKEND]
    missing = {k: v for k, v in ENV.items() if k != "FLOWDESK_OIDC_TOKEN_ENDPOINT"}
    with pytest.raises(ImproperlyConfigured, match="FLOWDESK_OIDC_TOKEN_ENDPOINT is required"):
        oidc_settings(missing)
    for bad in ("[1]", "{", '{"g": {"role": "QC", "extra": 1}}'):
        with pytest.raises(ImproperlyConfigured, match="FLOWDESK_OIDC_ROLE_MAP"):
            oidc_settings({**ENV, "FLOWDESK_OIDC_ROLE_MAP": bad})
