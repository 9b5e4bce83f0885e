"""The printable compliance report of one ticket, read from its audit entries."""

import re

import pytest
from django.db import connection
from django.test import Client

from flowdesk.audit.models import AuditEntry
from tests.packages import FIXED_URL, PACKAGE_MD5, PACKAGE_URL

from .conftest import NEW_MD5

pytestmark = pytest.mark.django_db
MD5 = PACKAGE_MD5


def report(user, sn: str):
    client = Client()
    client.force_login(user)
    return client.get(f"/audit/tickets/{sn}/report/")


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_report_shows_steps_package_version_and_an_intact_chain(released, users):
    response = report(users.pm_alice, released.sn)
    assert response.status_code == 200
    page = text(response)
    count = AuditEntry.objects.filter(obj_type="ticket", obj_id=released.sn).count()
    assert f"Audit chain intact: {count} entries of this ticket verified." in page
    version = released.version
    assert f"v{version.number}" in page and version.checksum in page
    # Who did each step, with which values.
    html = response.content.decode()
    rows = re.findall(r'<tr data-action="([^"]+)">(.*?)</tr>', html, re.S)
    done = [(a, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r))) for a, r in rows]
    approved = next(r for a, r in done if a == "ticket.approved")
    assert "ops_carol" in approved and "Slots booked" in approved
    qc = [r for a, r in done if a == "ticket.completed"][-1]
    assert "qc_c" in qc and "No incidents" in qc
    # The package: the URLs and checksums, each first one and the one that replaced it, by whom.
    package = html[html.index('id="fd-package"') : html.index('id="fd-steps"')]
    assert package.index(PACKAGE_URL) < package.index(FIXED_URL)
    assert package.index(MD5) < package.index(NEW_MD5)
    assert package.count("pm_alice") == 4


def test_a_tampered_entry_shows_on_the_report(released, users):
    entry = AuditEntry.objects.get(obj_id=released.sn, action="ticket.approved")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditentry SET actor_name = 'pm_alice' WHERE seq = %s", [entry.seq]
        )
    page = text(report(users.admin, released.sn))
    assert "Audit chain broken" in page
    assert f"entry {entry.seq}: hash mismatch" in page


def test_whoever_may_not_see_the_ticket_gets_not_found(released, users):
    assert report(users.pm_dave, released.sn).status_code == 404  # Game B's product manager
    assert report(users.pm_dave, "CRQ00000000000000").status_code == 404
    assert report(users.qc_c, released.sn).status_code == 200  # a past processor
    assert report(users.admin, released.sn).status_code == 200


def test_the_ticket_page_links_to_its_report(released, users):
    client = Client()
    client.force_login(users.pm_alice)
    html = client.get(f"/tickets/{released.sn}/").content.decode()
    assert f'href="/audit/tickets/{released.sn}/report/"' in html
