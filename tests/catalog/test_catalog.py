"""Services: visibility, version binding, and the catalog tree."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from flowdesk.catalog.access import can_see_service, services_visible_to
from flowdesk.catalog.actions import do_save_directory, do_save_service
from flowdesk.catalog.models import CatalogDirectory, Service
from flowdesk.directory.models import Business, Role
from flowdesk.engine import NotAllowed
from flowdesk.tickets.actions import do_submit_ticket
from flowdesk.workflows.actions import do_deploy_workflow, do_save_draft
from flowdesk.workflows.models import Workflow
from tests.factories import deploy_service, global_workflow

pytestmark = pytest.mark.django_db


def simple(key: str) -> dict:
    return global_workflow(
        key,
        nodes=[
            {"id": "work", "type": "task", "name": "Work", "operators": [{"type": "requester"}]}
        ],
        transitions=[{"from": "submit", "to": "work"}, {"from": "work", "to": "done"}],
    )


def test_the_demo_catalog(release_service):
    assert release_service.directory.name_zh == "应用发布"
    assert release_service.version is None  # follows the latest deployed version
    assert release_service.current_version().number == 1
    assert release_service.type == "change"


def test_visibility_by_business(demo, users):
    service = deploy_service(
        simple("game-b-only"),
        visibility=Service.Visibility.BUSINESSES,
        visible_businesses=[Business.objects.get(key="game-b")],
    )
    assert can_see_service(users.test_erin, service)
    assert not can_see_service(users.test_bob, service)
    assert can_see_service(users.admin, service)
    with pytest.raises(NotAllowed):
        do_submit_ticket(service, actor=users.test_bob, title="x", values={})


def test_visibility_by_role(demo, users):
    service = deploy_service(
        simple("qc-only"),
        visibility=Service.Visibility.ROLES,
        visible_roles=[Role.objects.get(key="QC")],
    )
    assert list(services_visible_to(users.qc_c).filter(key="qc-only")) == [service]
    assert not services_visible_to(users.pm_alice).filter(key="qc-only").exists()


def test_visibility_needs_its_list(demo):
    with pytest.raises(ValidationError, match="business"):
        deploy_service(simple("nobody"), visibility=Service.Visibility.BUSINESSES)


def test_pinned_version_stays_while_latest_moves(demo):
    document = simple("pinned")
    service = deploy_service(document)
    first = service.current_version()
    document["name"] = "pinned, second edition"
    workflow, _ = do_save_draft(document, actor=None, strict=True)
    second, _ = do_deploy_workflow(workflow, actor=None)
    assert service.current_version() == second
    service = do_save_service("pinned", name="Pinned", workflow=workflow, version=first, actor=None)
    assert service.current_version() == first


def test_a_service_needs_a_deployed_workflow(demo):
    workflow, _ = do_save_draft(simple("undeployed"), actor=None, strict=True)
    with pytest.raises(ValidationError, match="deploy it first"):
        do_save_service("undeployed", name="U", workflow=workflow, actor=None)


def test_version_of_another_workflow_is_refused(demo):
    other = Workflow.objects.get(key="app-release").latest_version()
    workflow, _ = do_save_draft(simple("mine"), actor=None, strict=True)
    do_deploy_workflow(workflow, actor=None)
    with pytest.raises(ValidationError, match="not a version"):
        do_save_service("mine", name="M", workflow=workflow, version=other, actor=None)


def test_catalog_tree_refuses_cycles(demo):
    root = do_save_directory("ops", name="Operations", actor=None)
    child = do_save_directory("ops-release", name="Release", parent=root, actor=None)
    with pytest.raises(ValidationError, match="inside itself"):
        do_save_directory("ops", name="Operations", parent=child, actor=None)
    assert CatalogDirectory.objects.get(key="ops").parent is None


def test_only_service_managers_edit_the_catalog(demo, users):
    with pytest.raises(PermissionDenied):
        do_save_directory("mine", name="Mine", actor=users.pm_alice)
    assert do_save_directory("mine", name="Mine", actor=users.admin).key == "mine"
