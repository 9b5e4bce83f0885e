"""The seed scenario as data: businesses, people, roles, the app-release workflow and service.

Loading is idempotent: every step is a create-or-update action, and deploying an unchanged
workflow keeps its current version.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

from flowdesk.catalog.actions import do_save_directory, do_save_service
from flowdesk.directory.actions import (
    do_save_business,
    do_save_role,
    do_save_user,
    do_set_password,
    do_set_role_members,
)
from flowdesk.directory.models import Business, Role
from flowdesk.engine.document import load_document
from flowdesk.workflows.actions import do_deploy_workflow, do_save_draft

WORKFLOW_FILE = Path(__file__).with_name("app-release.yaml")
DEFAULT_PASSWORD = "flowdesk-demo"

BUSINESSES = [("game-a", "Game A", "游戏A"), ("game-b", "Game B", "游戏B")]
BUSINESS_ROLES = [
    ("product", "Product", "产品人员"),
    ("ops", "Operations", "运维人员"),
    ("test", "Test", "测试人员"),
    ("dev", "Development", "开发人员"),
]
GENERAL_ROLES = [("QC", "Quality control", "质量控制")]

# username, display name, e-mail, what they do in the scenario
PEOPLE = [
    ("admin", "Administrator", "admin@example.com", "designs processes, manages everything"),
    ("pm_alice", "Alice (product)", "pm_alice@example.com", "product in Game A: submits"),
    ("test_bob", "Bob (test)", "test_bob@example.com", "test in Game A: confirms quality"),
    (
        "ops_carol",
        "Carol (ops)",
        "ops_carol@example.com",
        "ops in Game A: coordinates, releases",
    ),
    ("qc_c", "QC C", "qc_c@example.com", "QC (general role): evaluates releases"),
    ("pm_dave", "Dave (product)", "pm_dave@example.com", "product in Game B"),
    ("test_erin", "Erin (test)", "test_erin@example.com", "test in Game B"),
    ("ops_frank", "Frank (ops)", "ops_frank@example.com", "ops in Game B"),
]
MEMBERS = {
    ("product", "game-a"): ["pm_alice"],
    ("test", "game-a"): ["test_bob"],
    ("ops", "game-a"): ["ops_carol"],
    ("product", "game-b"): ["pm_dave"],
    ("test", "game-b"): ["test_erin"],
    ("ops", "game-b"): ["ops_frank"],
    ("QC", None): ["qc_c"],
}


@dataclass
class DemoReport:
    password: str
    logins: list[tuple[str, str]] = field(default_factory=list)
    workflow_version: int = 0


def load_demo(password: str | None = None) -> DemoReport:
    password = password or os.environ.get("FLOWDESK_DEMO_PASSWORD") or DEFAULT_PASSWORD
    report = DemoReport(password=password)
    users = _load_people(password, report)
    _load_roles(users)
    workflow, _problems = do_save_draft(
        load_document(WORKFLOW_FILE.read_text(encoding="utf-8"), filename=WORKFLOW_FILE.name),
        actor=None,
        strict=True,
    )
    version, _created = do_deploy_workflow(workflow, actor=None)
    report.workflow_version = version.number
    directory = do_save_directory(
        "application-release", name="Application release", name_zh="应用发布", actor=None
    )
    do_save_service(
        "app-release",
        name="Application release",
        name_zh="应用发布",
        description="Release a version that passed testing to production.",
        workflow=workflow,
        directory=directory,
        owners=[users["admin"]],
        actor=None,
    )
    return report


def _load_people(password: str, report: DemoReport) -> dict:
    users = {}
    for username, display_name, email, role in PEOPLE:
        user, _changes = do_save_user(username, email=email, display_name=display_name, actor=None)
        do_set_password(user, password, actor=None)
        users[username] = user
        report.logins.append((username, role))
    admin = users["admin"]
    if not (admin.is_superuser and admin.is_staff):
        admin.is_superuser = admin.is_staff = True
        admin.save(update_fields=["is_superuser", "is_staff"])
    return users


def _load_roles(users: dict) -> None:
    for key, name, name_zh in BUSINESS_ROLES:
        do_save_role(key, kind=Role.Kind.BUSINESS, name=name, name_zh=name_zh, actor=None)
    for key, name, name_zh in GENERAL_ROLES:
        do_save_role(key, kind=Role.Kind.GENERAL, name=name, name_zh=name_zh, actor=None)
    for key, name, name_zh in BUSINESSES:
        do_save_business(key, name=name, name_zh=name_zh, actor=None)
    for (role_key, business_key), usernames in MEMBERS.items():
        do_set_role_members(
            Role.objects.get(key=role_key),
            [users[u] for u in usernames],
            business=Business.objects.get(key=business_key) if business_key else None,
            actor=None,
        )
