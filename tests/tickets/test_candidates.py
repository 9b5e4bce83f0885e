"""Candidates of open tasks follow role membership, in a fixed number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from flowdesk.directory.actions import do_add_role_member, do_remove_role_member, do_save_role
from flowdesk.directory.models import Role
from flowdesk.tickets import actions
from flowdesk.tickets.candidates import membership_changed
from flowdesk.tickets.models import open_tasks_for
from tests.factories import deploy_service, global_workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_roles_service(demo):
    do_save_role("CAB", kind=Role.Kind.GENERAL, name="Change advisory board", actor=None)
    document = global_workflow(
        "two-roles",
        nodes=[
            {
                "id": "review",
                "type": "task",
                "name": "Review",
                "operators": [
                    {"type": "general_role", "role": "QC"},
                    {"type": "general_role", "role": "CAB"},
                ],
            }
        ],
        transitions=[{"from": "submit", "to": "review"}, {"from": "review", "to": "done"}],
    )
    return deploy_service(document)


def test_a_task_stays_while_another_of_its_roles_grants_it(two_roles_service, users):
    qc, cab = Role.objects.get(key="QC"), Role.objects.get(key="CAB")
    do_add_role_member(cab, users.qc_c, actor=None)
    ticket = actions.do_submit_ticket(
        two_roles_service, actor=users.pm_alice, title="Review", values={}
    )
    do_remove_role_member(qc, users.qc_c, actor=None)
    assert open_tasks_for(users.qc_c).filter(ticket=ticket).exists()  # CAB still grants it
    do_remove_role_member(cab, users.qc_c, actor=None)
    assert not open_tasks_for(users.qc_c).filter(ticket=ticket).exists()


def test_membership_changes_cost_the_same_for_one_or_many_open_tasks(two_roles_service, users):
    qc = Role.objects.get(key="QC")

    def queries_of_a_change() -> int:
        do_remove_role_member(qc, users.qc_c, actor=None)
        with CaptureQueriesContext(connection) as removed:
            membership_changed(role=qc, business=None, user=users.qc_c, added=False)
        do_add_role_member(qc, users.qc_c, actor=None)
        with CaptureQueriesContext(connection) as added:
            membership_changed(role=qc, business=None, user=users.qc_c, added=True)
        return len(removed) + len(added)

    actions.do_submit_ticket(two_roles_service, actor=users.pm_alice, title="One", values={})
    one = queries_of_a_change()
    for i in range(5):
        actions.do_submit_ticket(two_roles_service, actor=users.pm_alice, title=f"{i}", values={})
    assert queries_of_a_change() == one
    assert open_tasks_for(users.qc_c).count() == 6
