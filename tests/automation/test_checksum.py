"""The built-in checksum check: download the package at the URL field, compare its digests with
the checksum field, record what was verified; a package that does not match stops the ticket."""

import hashlib

import pytest

from flowdesk.audit.report import ticket_report
from flowdesk.automation.models import AutomationRun
from flowdesk.automation.queries import run_actions
from flowdesk.tickets.queries import current_steps, task_actions
from tests.automation.conftest import Reply, automation_service, run_of, work

pytestmark = pytest.mark.django_db
Status = AutomationRun.Status
PACKAGE = b"game server 2.4.1\n" * 5000
MD5 = hashlib.md5(PACKAGE).hexdigest()
SHA256 = hashlib.sha256(PACKAGE).hexdigest()


@pytest.fixture
def check(system, submit):
    """Submit a release naming the served package and `md5`; (ticket, run after the check)."""
    service = automation_service(
        "package-check",
        {
            "action": "checksum",
            "checksum": {"url_field": "package_url", "md5_field": "package_md5"},
            "retries": 1,
        },
    )
    system.reply("/pkg/server-2.4.1.tar.gz", Reply(200, PACKAGE))

    def check(md5: str, path: str = "/pkg/server-2.4.1.tar.gz"):
        ticket = submit(service, package_url=system.url + path, package_md5=md5)
        return ticket, work(run_of(ticket))

    return check


def test_a_matching_package_passes_and_its_digests_are_recorded(check, system):
    ticket, run = check(MD5.upper())  # any case

    assert run.status == Status.SUCCEEDED
    url = system.url + "/pkg/server-2.4.1.tar.gz"
    assert run.result == {
        "url": url,
        "size": len(PACKAGE),
        "md5": MD5,
        "sha256": SHA256,
        "expected": {"md5": MD5},
        "match": True,
    }
    ticket.refresh_from_db()
    assert [node for node, _ in current_steps(ticket)] == ["review"]
    event = ticket.events.get(kind="automation_succeeded")
    assert event.data["automation"]["result"] == run.result
    (verified,) = ticket_report(ticket).checks
    assert verified.data["automation"]["result"]["sha256"] == SHA256


def test_the_compliance_report_shows_which_package_was_verified(check, client, users):
    ticket, _run = check(MD5)
    client.force_login(users.pm_alice)

    page = client.get(f"/audit/tickets/{ticket.sn}/report/").content.decode()

    checks = page[page.index('id="fd-checks"') : page.index('id="fd-steps"')]
    assert "/pkg/server-2.4.1.tar.gz" in checks and SHA256 in checks and "matches" in checks


def test_a_package_that_does_not_match_cannot_proceed(check, users):
    wrong = "0" * 32
    ticket, run = check(wrong)

    assert run.status == Status.FAILED
    assert run.result["match"] is False and run.result["md5"] == MD5
    assert run.error == (
        f"The package at {run.result['url']} does not match its checksum: "
        f"MD5 {MD5}, expected {wrong}."
    )
    ticket.refresh_from_db()
    assert [node for node, _ in current_steps(ticket)] == ["run"]
    assert not ticket.tasks.filter(node_id="review").exists()
    task = ticket.tasks.get(node_id="run")
    # Nobody can simply complete the step: its operators may only retry, skip or complete it
    # by hand, with a reason that is recorded.
    assert task_actions(users.ops_frank, task) == []
    assert run_actions(users.ops_frank, run) == ["retry", "skip", "complete"]
    failed = ticket.events.get(kind="automation_failed")
    assert failed.data["automation"]["result"]["expected"] == {"md5": wrong}
    assert ticket_report(ticket).checks[0].data["automation"]["result"]["match"] is False


def test_a_package_that_cannot_be_downloaded_fails_the_check(check, system):
    _ticket, run = check(MD5, path="/pkg/missing.tar.gz")

    assert run.status == Status.FAILED
    assert run.error == f"GET {system.url}/pkg/missing.tar.gz answered 404"
    assert run.result["match"] is None and "size" not in run.result


def test_a_package_over_the_size_limit_is_not_downloaded_to_the_end(check, settings):
    settings.FLOWDESK_CHECKSUM_MAX_MB = 0

    _ticket, run = check(MD5)

    assert run.status == Status.FAILED
    assert run.error.endswith("is larger than 0 MB.")
