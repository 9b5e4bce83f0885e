"""Who sees a ticket (docs/security.md): requester, past and present processors, service owners,
members of the roles a service is restricted to, admins – and nobody else."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from flowdesk.catalog.actions import do_save_service
from flowdesk.directory.actions import do_remove_role_member
from flowdesk.directory.models import Business, Role
from flowdesk.tickets import actions
from flowdesk.tickets.access import access_ticket
from flowdesk.tickets.models import Ticket
from tests.packages import run_automation
from tests.web.conftest import SUBMIT

pytestmark = pytest.mark.django_db

SEEN_OR_NOT = [
    "admin",
    "pm_alice",
    "test_bob",
    "ops_carol",
    "ops_frank",
    "qc_c",
    "pm_dave",
    "test_erin",
]


def visible(user, ticket: Ticket) -> bool:
    return Ticket.objects.visible_to(user).filter(pk=ticket.pk).exists()


def submit_on(service, users) -> Ticket:
    """pm_alice submits; the package check runs, as the worker would: test_bob's step is open."""
    ticket = actions.do_submit_ticket(
        service,
        actor=users.pm_alice,
        title="Release 2.4.1",
        business=Business.objects.get(key="game-a"),
        values=SUBMIT,
    )
    run_automation()
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def restricted(release_service):
    """The release workflow as a service only product people and QC may see and request."""
    return do_save_service(
        "release-restricted",
        name="Restricted release",
        workflow=release_service.workflow,
        visibility="roles",
        visible_roles=Role.objects.filter(key__in=["product", "QC"]),
        actor=None,
    )


def test_everyone_service_shows_a_ticket_only_to_its_people(release_service, users):
    ticket = submit_on(release_service, users)
    seen = {name: visible(getattr(users, name), ticket) for name in SEEN_OR_NOT}
    # pm_alice requested, test_bob is the candidate of the current step, admin is admin;
    # ops_carol (ops in game-a) was a candidate of the package check (she may retry or skip it);
    # QC's step is not reached yet and an "everyone" service grants no ticket visibility.
    assert seen == {
        "admin": True,
        "pm_alice": True,
        "test_bob": True,
        "ops_carol": True,
        "ops_frank": False,
        "qc_c": False,
        "pm_dave": False,
        "test_erin": False,
    }


def test_members_of_the_services_roles_see_its_tickets(restricted, users):
    ticket = submit_on(restricted, users)
    # QC is a general role; product counts in any business, as for requesting the service.
    assert visible(users.qc_c, ticket) and visible(users.pm_dave, ticket)
    assert not visible(users.test_erin, ticket) and not visible(users.ops_frank, ticket)
    assert visible(users.ops_carol, ticket)  # a candidate of the package check, not by her role
    access_ticket(users.qc_c, ticket.sn)  # the choke point agrees


def test_losing_the_role_loses_the_ticket(restricted, users):
    ticket = submit_on(restricted, users)
    actions.do_follow_ticket(ticket, actor=users.qc_c)
    do_remove_role_member(Role.objects.get(key="QC"), users.qc_c, actor=None)
    assert not visible(users.qc_c, ticket)  # following is no ground of its own


def test_past_processors_keep_seeing_the_ticket(release_service, users):
    ticket = submit_on(release_service, users)
    task = ticket.tasks.get(status="open")
    actions.do_transfer_task(task, actor=users.test_bob, to_user=users.test_erin, comment="")
    assert visible(users.test_bob, ticket) and visible(users.test_erin, ticket)


def test_service_owners_see_its_tickets(restricted, users):
    ticket = submit_on(restricted, users)
    assert not visible(users.ops_frank, ticket)
    do_save_service(
        restricted.key,
        name=restricted.name,
        workflow=restricted.workflow,
        owners=[users.ops_frank],
        visibility="roles",
        visible_roles=restricted.visible_roles.all(),
        actor=None,
    )
    assert visible(users.ops_frank, ticket)


def test_visible_to_is_one_query_without_join_or_distinct(restricted, users):
    """The to-do and ticket lists wrap this queryset: it must stay a flat, indexed filter."""
    submit_on(restricted, users)
    user = users.qc_c
    queryset = Ticket.objects.visible_to(user)  # reads (and caches) the admin groups
    sql = str(queryset.query).upper()
    assert "DISTINCT" not in sql and " JOIN " not in sql.split(" WHERE ")[0]
    with CaptureQueriesContext(connection) as queries:
        assert len(list(queryset)) == 1
    assert len(queries) == 1
