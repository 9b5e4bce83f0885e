"""Exports per ticket, per service and per period, as CSV and JSON, from the command line and
the admin page; only admins may read the whole log."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from flowdesk.audit.models import AuditEntry, iso_utc
from flowdesk.catalog.actions import do_save_service
from tests.factories import deploy_service, global_workflow
from tests.packages import PACKAGE_URL

pytestmark = pytest.mark.django_db


def export(*args: str) -> str:
    out = io.StringIO()
    call_command("audit", "export", *args, stdout=out)
    return out.getvalue()


def test_json_export_of_one_ticket(released):
    rows = json.loads(export("--ticket", released.sn, "--format", "json"))
    expected = AuditEntry.objects.filter(obj_type="ticket", obj_id=released.sn).order_by("seq")
    assert [r["seq"] for r in rows] == [e.seq for e in expected]
    first = rows[0]
    entry = expected[0]
    assert first == {
        "seq": entry.seq,
        "at": iso_utc(entry.at),
        "actor": "pm_alice",
        "source": "web",
        "address": "",
        "object_type": "ticket",
        "object_id": released.sn,
        "object": f"ticket {released.sn}",
        "action": "ticket.submitted",
        "data": entry.data,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }
    assert first["data"]["values"]["package_url"] == PACKAGE_URL


def test_csv_export_of_a_service_holds_its_changes_and_its_tickets(released, users):
    other = deploy_service(
        global_workflow("other", [], [{"from": "submit", "to": "done"}]), owners=[users.admin]
    )
    rows = list(csv.DictReader(io.StringIO(export("--service", "app-release"))))
    objects = {(r["object_type"], r["object_id"]) for r in rows}
    assert objects == {("service", "app-release"), ("ticket", released.sn)}
    assert ("service", other.key) not in objects
    approved = next(r for r in rows if r["action"] == "ticket.approved")
    assert approved["actor"] == "ops_carol"
    assert json.loads(approved["data"])["comment"] == "Slots booked"
    assert list(rows[0]) == [
        "seq", "at", "actor", "source", "address", "object_type", "object_id", "object",
        "action", "data", "prev_hash", "hash",
    ]  # fmt: skip


def test_export_by_period(released, users):
    AuditEntry.objects.filter(seq__lte=10).update(at=timezone.now() - timedelta(days=3))
    today = timezone.localdate()
    recent = json.loads(export("--since", f"{today}", "--format", "json"))
    old = json.loads(export("--until", f"{today - timedelta(days=2)}", "--format", "json"))
    assert [r["seq"] for r in old] == list(range(1, 11))
    assert recent[0]["seq"] == 11 and len(recent) == AuditEntry.objects.count() - 10


def test_a_bad_date_is_a_usage_error(db):
    with pytest.raises(CommandError, match="--since"):
        export("--since", "yesterday")


def test_admin_page_lists_searches_and_downloads(released, users):
    client = Client()
    client.force_login(users.admin)
    page = client.get("/audit/", {"ticket": released.sn, "action": "ticket.approved"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "ops_carol" in html and "Slots booked" in html and "ticket.approved" in html
    assert "ticket.submitted" not in html

    download = client.get("/audit/export/", {"ticket": released.sn, "format": "json"})
    assert download["Content-Disposition"].startswith('attachment; filename="flowdesk-audit-')
    rows = json.loads(b"".join(download.streaming_content))
    assert {r["object_id"] for r in rows} == {released.sn}
    csv_download = client.get("/audit/export/", {"service": "app-release", "format": "csv"})
    assert csv_download["Content-Type"].startswith("text/csv")
    assert b"service.saved" in b"".join(csv_download.streaming_content)
    assert client.get("/audit/export/", {"format": "xml"}).status_code == 400


def test_only_admins_read_the_log(released, users):
    do_save_service(
        "app-release",
        name="Application release",
        workflow=released.service.workflow,
        owners=[users.ops_carol],
        actor=None,
    )
    owner = Client()
    owner.force_login(users.ops_carol)  # owns the service, is no admin
    assert owner.get("/audit/").status_code == 404
    assert owner.get("/audit/export/", {"format": "csv"}).status_code == 404
    assert "/audit/" not in owner.get("/").content.decode()
    admin = Client()
    admin.force_login(users.admin)
    assert 'href="/audit/"' in admin.get("/").content.decode()
    assert Client().get("/audit/").status_code == 302  # to the login page
