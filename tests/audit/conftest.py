"""Audit fixtures: the seed scenario run to its end through the service layer."""

import pytest

from flowdesk.audit.models import AuditEntry
from flowdesk.tickets import actions
from flowdesk.tickets.models import Ticket
from tests.packages import FIXED_MD5, FIXED_URL, run_automation
from tests.tickets.test_release_scenario import TEST_FAIL, TEST_PASS, submit, todo

NEW_MD5 = FIXED_MD5  # the rebuilt package, resubmitted after the failed test


def entries(**filters) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(**filters).order_by("seq"))


@pytest.fixture
def released(release_service, users) -> Ticket:
    """The seed scenario through the service layer: failed test, resubmit, release, QC."""
    alice, bob, carol, qc = users.pm_alice, users.test_bob, users.ops_carol, users.qc_c
    ticket = submit(release_service, alice)
    actions.do_complete_task(todo(bob, ticket), actor=bob, values=TEST_FAIL)
    actions.do_complete_task(
        todo(alice, ticket),
        actor=alice,
        values={"package_url": FIXED_URL, "package_md5": NEW_MD5},
        source="api",
    )
    run_automation()  # the rebuilt package's check
    actions.do_complete_task(todo(bob, ticket), actor=bob, values=TEST_PASS)
    actions.do_approve_task(todo(carol, ticket), actor=carol, comment="Slots booked")
    actions.do_complete_task(todo(carol, ticket), actor=carol, values={"release_summary": "Done"})
    actions.do_complete_task(
        todo(qc, ticket), actor=qc, values={"qc_result": "good", "qc_summary": "No incidents"}
    )
    ticket.refresh_from_db()
    return ticket
