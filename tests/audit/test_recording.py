"""Every action leaves its entry, in its own transaction, chained to the one before."""

import pytest
from django.db import transaction
from django.test import Client

from flowdesk.api.actions import do_create_token, do_revoke_token
from flowdesk.audit.chain import verify_chain
from flowdesk.audit.models import GENESIS_HASH, AuditEntry
from flowdesk.catalog.actions import do_save_service
from flowdesk.directory.actions import do_add_role_member, do_grant_admin_permission, do_save_user
from flowdesk.directory.models import Business, Role
from flowdesk.engine import InvalidValues
from flowdesk.workflows.actions import do_deploy_workflow, do_save_draft
from flowdesk.workflows.models import Workflow
from tests.tickets.test_release_scenario import MD5, submit

from .conftest import NEW_MD5, entries

pytestmark = pytest.mark.django_db


def test_the_seed_scenario_is_recorded_step_by_step(released):
    recorded = entries(obj_type="ticket", obj_id=released.sn)
    done = [
        (e.action, e.actor_name, e.data["node"])
        for e in recorded
        if e.action not in {"ticket.assigned", "ticket.decided", "ticket.ended", "ticket.skipped"}
    ]
    assert done == [
        ("ticket.submitted", "pm_alice", "submit"),
        ("ticket.automation_succeeded", "(system)", "verify_package"),
        ("ticket.completed", "test_bob", "test_confirm"),
        ("ticket.completed", "pm_alice", "submit"),
        ("ticket.automation_succeeded", "(system)", "verify_package"),
        ("ticket.completed", "test_bob", "test_confirm"),
        ("ticket.approved", "ops_carol", "coordinate"),
        ("ticket.completed", "ops_carol", "release"),
        ("ticket.completed", "qc_c", "qc_review"),
    ]
    # one entry per history event, in the same order
    assert [e.action for e in recorded] == [
        f"ticket.{kind}" for kind in released.events.order_by("seq").values_list("kind", flat=True)
    ]
    submitted = recorded[0]
    assert submitted.label == f"ticket {released.sn}"
    assert submitted.data["values"]["package_md5"] == MD5
    assert submitted.data["version"] == released.version.number
    assert submitted.data["version_checksum"] == released.version.checksum
    resubmit = next(
        e for e in recorded if e.action == "ticket.completed" and e.data["node"] == "submit"
    )
    assert resubmit.data["changes"]["package_md5"] == [MD5, NEW_MD5]
    assert resubmit.source == "api"
    approved = next(e for e in recorded if e.action == "ticket.approved")
    assert approved.data["comment"] == "Slots booked" and approved.source == "web"
    # an event the engine caused is attributed to the person whose action caused it
    assigned = next(e for e in recorded if e.action == "ticket.assigned")
    assert assigned.actor_name == "pm_alice" and assigned.data["node"] == "verify_package"
    assert assigned.data["candidates"] == ["ops_carol"]  # the check's operators
    assert recorded[-1].action == "ticket.ended" and recorded[-1].data["status"] == "finished"
    assert verify_chain().ok


def test_entries_form_one_gap_free_chain_from_the_genesis_hash(released):
    chain = list(AuditEntry.objects.order_by("seq"))
    assert [e.seq for e in chain] == list(range(1, len(chain) + 1))
    assert chain[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in zip(chain, chain[1:], strict=False))
    assert all(e.compute_hash() == e.hash for e in chain)


def test_a_rolled_back_action_leaves_no_entry(release_service, users):
    before = AuditEntry.objects.count()
    with pytest.raises(InvalidValues):
        submit(release_service, users.pm_alice, package_md5="nope")
    with pytest.raises(RuntimeError), transaction.atomic():
        do_save_user("mallory", email="m@example.com", actor=None)
        raise RuntimeError("the caller's transaction fails after the action")
    assert AuditEntry.objects.count() == before
    assert verify_chain().ok
    ticket = submit(release_service, users.pm_alice)  # the chain goes on without a gap
    assert entries(obj_id=ticket.sn)[0].seq == before + 1


def test_directory_changes(demo, users):
    admin = users.admin
    user, _ = do_save_user("erin2", email="erin2@example.com", actor=admin)
    do_save_user("erin2", display_name="Erin Two", actor=admin)
    do_add_role_member(Role.objects.get(key="QC"), user, actor=admin)
    do_grant_admin_permission(user, "service-owners", actor=admin)
    recorded = entries(seq__gt=0, actor_name="admin")
    assert [(e.action, e.label) for e in recorded] == [
        ("user.created", "user erin2"),
        ("user.changed", "user erin2"),
        ("role.member_added", "role QC"),
        ("user.admin_permission_granted", "user erin2"),
    ]
    assert recorded[1].data["changes"] == {"display_name": ["", "Erin Two"]}
    assert recorded[2].data == {"role": "QC", "user": "erin2"}
    assert recorded[3].data["group"] == "service-owners"
    assert {e.source for e in recorded} == {"system"}  # an actor, no request: not the CLI


def test_workflow_draft_and_deploy(demo, users):
    workflow = Workflow.objects.get(key="app-release")
    document = {**workflow.draft, "description": "v2"}
    do_save_draft(document, actor=users.admin)
    version, created = do_deploy_workflow(workflow, actor=users.admin)
    assert created
    draft, deployed = entries(obj_type="workflow", actor_name="admin")
    assert draft.action == "workflow.draft_saved" and draft.label == "workflow app-release"
    assert draft.data["checksum"] == version.checksum
    assert deployed.action == "workflow.deployed"
    assert deployed.data == {"version": version.number, "checksum": version.checksum}
    do_deploy_workflow(workflow, actor=users.admin)  # unchanged: no version, no entry
    assert len(entries(obj_type="workflow", actor_name="admin")) == 2


def test_service_save_records_before_and_after_of_changed_fields(release_service, users):
    game_b = Business.objects.get(key="game-b")
    do_save_service(
        "app-release",
        name="App release",
        workflow=release_service.workflow,
        name_zh=release_service.name_zh,
        description=release_service.description,
        directory=release_service.directory,
        owners=[users.admin, users.ops_carol],
        visibility="businesses",
        visible_businesses=[game_b],
        actor=users.admin,
    )
    (entry,) = entries(obj_type="service", actor_name="admin")
    assert entry.action == "service.saved"
    assert entry.data == {
        "created": False,
        "before": {
            "name": "Application release",
            "owners": ["admin"],
            "visibility": "everyone",
            "visible_businesses": [],
        },
        "after": {
            "name": "App release",
            "owners": ["admin", "ops_carol"],
            "visibility": "businesses",
            "visible_businesses": ["game-b"],
        },
    }


def test_tokens_from_the_web_with_the_client_address_and_never_the_value(users):
    client = Client(REMOTE_ADDR="203.0.113.7")
    client.force_login(users.test_bob)
    response = client.post("/profile/tokens/", {"name": "ci"})
    assert response.status_code == 200
    token = users.test_bob.api_tokens.get()
    do_revoke_token(token, actor=users.admin)
    created, revoked = entries(obj_type="token")
    assert (created.action, created.actor_name, created.source, created.address) == (
        "token.created",
        "test_bob",
        "web",
        "203.0.113.7",
    )
    assert created.data == {
        "user": "test_bob",
        "name": "ci",
        "prefix": token.prefix,
        "scope": "write",  # the profile form's default
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }
    assert created.label == f"token {token.prefix}… of test_bob"
    assert (revoked.action, revoked.actor_name, revoked.source, revoked.address) == (
        "token.revoked",
        "admin",
        "system",
        "",
    )
    raw = response.content.decode()
    shown = raw[raw.index("fd_") :].split("<")[0].split('"')[0].strip()
    assert len(shown) > 20 and shown not in created.data_json


def test_api_requests_are_recorded_as_api(users):
    _token, raw = do_create_token(users.pm_alice, actor=None)
    assert entries(obj_type="token")[0].source == "cli"  # no request, no actor: the operator
    response = Client().post(
        "/api/v1/tokens/",
        {"name": "pipeline"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {raw}",
        REMOTE_ADDR="198.51.100.4",
    )
    assert response.status_code == 201
    entry = entries(obj_type="token")[-1]
    assert (entry.source, entry.actor_name, entry.address) == ("api", "pm_alice", "198.51.100.4")


def test_the_actor_name_outlives_the_user(release_service, users):
    do_create_token(users.test_erin, actor=users.test_erin)
    users.test_erin.api_tokens.all().delete()
    users.test_erin.role_memberships.all().delete()
    users.test_erin.delete()
    (entry,) = entries(obj_type="token")
    assert entry.actor_id is None and entry.actor_name == "test_erin"
    assert verify_chain().ok


def test_a_ticket_action_with_its_transaction_and_the_web_source(release_service, users):
    ticket = submit(release_service, users.pm_alice)
    client = Client(REMOTE_ADDR="192.0.2.10")
    client.force_login(users.pm_alice)
    response = client.post(f"/tickets/{ticket.sn}/do/comment/", {"comment": "Any news?"})
    assert response.status_code in (200, 302)
    (comment,) = entries(action="ticket.commented")
    assert (comment.actor_name, comment.source, comment.address) == (
        "pm_alice",
        "web",
        "192.0.2.10",
    )
    assert comment.data["text"] == "Any news?"
