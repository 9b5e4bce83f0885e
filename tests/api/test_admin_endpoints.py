"""Workflows for designers, the directory for admins, tokens for everyone."""

import pytest
from rest_framework.test import APIClient

from flowdesk.directory.models import RoleMembership
from flowdesk.workflows.models import Workflow
from tests.api.conftest import problem
from tests.factories import global_workflow

pytestmark = pytest.mark.django_db

TINY = global_workflow(
    "tiny",
    [{"id": "check", "type": "task", "name": "Check", "operators": [{"type": "requester"}]}],
    [{"from": "submit", "to": "check"}, {"from": "check", "to": "done"}],
)


def test_validate_import_deploy_and_read_versions(clients):
    admin = clients.admin
    broken = {**TINY, "transitions": [], "colour": "red"}
    answer = admin.post("/api/v1/workflows/validate/", broken).json()
    assert answer["valid"] is False
    assert all(p["path"] and p["message"] for p in answer["problems"])
    assert admin.post("/api/v1/workflows/validate/", TINY).json() == {"valid": True, "problems": []}

    body = problem(admin.post("/api/v1/workflows/", broken), 400, "invalid")
    assert body["problems"] and not Workflow.objects.filter(key="tiny").exists()

    saved = admin.post("/api/v1/workflows/", TINY).json()
    assert saved["key"] == "tiny" and saved["latest_version"] is None and saved["problems"] == []
    deployed = admin.post("/api/v1/workflows/tiny/deploy/")
    assert deployed.status_code == 201 and deployed.json()["number"] == 1
    again = admin.post("/api/v1/workflows/tiny/deploy/")
    assert again.status_code == 200 and again.json()["created"] is False

    imported = admin.post("/api/v1/workflows/?deploy=1", {**TINY, "name": "Tiny v2"}).json()
    assert [v["number"] for v in imported["versions"]] == [2, 1]
    version = admin.get("/api/v1/workflows/tiny/versions/1/").json()
    assert version["document"]["name"] == "tiny"
    problem(admin.get("/api/v1/workflows/tiny/versions/9/"), 404, "not_found")
    keys = [w["key"] for w in admin.get("/api/v1/workflows/").json()]
    assert keys == ["app-release", "tiny"]


def test_role_members_are_added_and_removed_through_the_directory(clients):
    admin = clients.admin
    member = {"user": "test_erin", "business": "game-a"}
    role = admin.post("/api/v1/roles/test/members/", member).json()
    assert {"user": "test_erin", "business": "game-a"} in role["members"]
    assert RoleMembership.objects.filter(user__username="test_erin", role__key="test").count() == 2
    role = admin.delete("/api/v1/roles/test/members/?user=test_erin&business=game-a").json()
    assert {"user": "test_erin", "business": "game-a"} not in role["members"]
    body = problem(admin.post("/api/v1/roles/QC/members/", member), 400, "invalid")
    assert "business" in body["errors"]
    problem(admin.post("/api/v1/roles/test/members/", {"user": "nobody"}), 400, "invalid")
    assert [b["key"] for b in admin.get("/api/v1/businesses/").json()] == ["game-a", "game-b"]
    users = admin.get("/api/v1/users/").json()["results"]
    assert "pm_alice" in [u["username"] for u in users]


def test_tokens_are_created_once_listed_by_prefix_and_revoked(clients):
    bob = clients.test_bob
    created = bob.post("/api/v1/tokens/", {"name": "ci"})
    assert created.status_code == 201
    raw = created.json()["token"]
    listed = bob.get("/api/v1/tokens/").json()
    assert all("token" not in t for t in listed)
    assert raw.startswith(next(t["prefix"] for t in listed if t["name"] == "ci"))

    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert fresh.get("/api/v1/tasks/").status_code == 200
    assert bob.delete(f"/api/v1/tokens/{created.json()['id']}/").status_code == 204
    problem(fresh.get("/api/v1/tasks/"), 401, "not_authenticated")
