"""Attachment fields and steps whose operators resolve to nobody, through the service layer."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from flowdesk.directory.actions import do_remove_role_member
from flowdesk.directory.models import Business, Role
from flowdesk.engine import InvalidValues
from flowdesk.tickets import actions
from flowdesk.tickets.models import Ticket, open_tasks_for
from tests.factories import deploy_service, global_workflow
from tests.packages import run_automation

from .test_release_scenario import SUBMIT

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def with_evidence() -> dict:
    return global_workflow(
        "evidence",
        nodes=[
            {"id": "review", "type": "task", "name": "Review", "operators": [{"type": "requester"}]}
        ],
        transitions=[{"from": "submit", "to": "review"}, {"from": "review", "to": "done"}],
        start_fields=["evidence"],
        fields=[{"key": "evidence", "type": "attachment", "label": "Evidence", "required": True}],
    )


def test_attachment_is_stored_with_its_checksum_and_referenced_by_id(demo, users):
    content = b"release notes 2.4.1"
    upload = actions.do_upload_attachment(
        SimpleUploadedFile("notes.txt", content, content_type="text/plain"), actor=users.pm_alice
    )
    assert upload.sha256 == hashlib.sha256(content).hexdigest() and upload.size == len(content)
    service = deploy_service(with_evidence())
    ticket = actions.do_submit_ticket(
        service, actor=users.pm_alice, title="With evidence", values={"evidence": [str(upload.pk)]}
    )
    assert ticket.values["evidence"] == [str(upload.pk)]
    assert upload.file.read() == content


def test_attachment_of_someone_else_or_unknown_is_refused(demo, users):
    upload = actions.do_upload_attachment(
        SimpleUploadedFile("secret.txt", b"x"), actor=users.test_bob
    )
    service = deploy_service(with_evidence())
    for value in ([str(upload.pk)], ["not-a-uuid"]):
        with pytest.raises(InvalidValues) as caught:
            actions.do_submit_ticket(
                service, actor=users.pm_alice, title="Borrowed", values={"evidence": value}
            )
        assert "Unknown attachment" in caught.value.errors["evidence"][0]
    assert not Ticket.objects.exists()


def test_a_later_step_may_keep_the_files_already_on_the_ticket(demo, users):
    document = global_workflow(
        "evidence-review",
        nodes=[
            {
                "id": "review",
                "type": "task",
                "name": "Review",
                "fields": ["evidence"],
                "operators": [{"type": "users", "users": ["test_bob"]}],
            }
        ],
        transitions=[{"from": "submit", "to": "review"}, {"from": "review", "to": "done"}],
        start_fields=["evidence"],
        fields=[{"key": "evidence", "type": "attachment", "label": "Evidence"}],
    )
    alices = actions.do_upload_attachment(SimpleUploadedFile("a.txt", b"a"), actor=users.pm_alice)
    bobs = actions.do_upload_attachment(SimpleUploadedFile("b.txt", b"b"), actor=users.test_bob)
    ticket = actions.do_submit_ticket(
        deploy_service(document),
        actor=users.pm_alice,
        title="Review",
        values={"evidence": [str(alices.pk)]},
    )
    task = open_tasks_for(users.test_bob).get(ticket=ticket)
    actions.do_complete_task(
        task, actor=users.test_bob, values={"evidence": [str(alices.pk), str(bobs.pk)]}
    )
    ticket.refresh_from_db()
    assert ticket.values["evidence"] == [str(alices.pk), str(bobs.pk)]


def test_step_with_nobody_to_do_it_fails_the_check_and_names_the_role(release_service, users):
    """Test confirmation has nobody in game-b: the system step before it cannot hand over, so it
    fails (naming the empty role) and, as the demo says on failure, goes back to the requester."""
    game_b = Business.objects.get(key="game-b")
    do_remove_role_member(
        Role.objects.get(key="test"), users.test_erin, business=game_b, actor=None
    )
    ticket = actions.do_submit_ticket(
        release_service, actor=users.pm_dave, title="Release", business=game_b, values=SUBMIT
    )
    run_automation()
    ticket.refresh_from_db()
    failed = ticket.events.get(kind="automation_failed")
    assert "test" in failed.data["error"] and "game-b" in failed.data["error"]
    assert ticket.state["visited"] == ["submit", "verify_package"]  # test confirmation never opened
    assert open_tasks_for(users.pm_dave).filter(ticket=ticket, node_id="submit").exists()


def test_service_owner_fallback(demo, users):
    document = global_workflow(
        "fallback",
        nodes=[
            {
                "id": "review",
                "type": "task",
                "name": "Review",
                "on_unassigned": "service_owner",
                "operators": [{"type": "general_role", "role": "QC"}],
            }
        ],
        transitions=[{"from": "submit", "to": "review"}, {"from": "review", "to": "done"}],
    )
    do_remove_role_member(Role.objects.get(key="QC"), users.qc_c, actor=None)
    service = deploy_service(document, owners=[users.ops_carol])
    ticket = actions.do_submit_ticket(service, actor=users.pm_alice, title="Fallback", values={})
    assert open_tasks_for(users.ops_carol).filter(ticket=ticket).exists()
