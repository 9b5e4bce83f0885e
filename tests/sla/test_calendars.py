"""Work calendars: the action (rules, audit, permission), the admin pages, the deploy check."""

from datetime import date, time

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from flowdesk import engine
from flowdesk.audit.models import AuditEntry
from flowdesk.sla.actions import do_save_calendar
from flowdesk.sla.models import WorkCalendar
from flowdesk.workflows.actions import WorkflowInvalid, do_deploy_workflow, do_save_draft

from .conftest import chain, step

pytestmark = pytest.mark.django_db


def test_a_saved_calendar_is_the_engines_calendar():
    saved = do_save_calendar(
        "cn-office",
        timezone="Asia/Shanghai",
        weekdays=[4, 0, 1, 2, 3, 0],
        start=time(9, 30),
        end=time(18),
        holidays=[date(2026, 10, 1), "2026-10-02"],
        actor=None,
    )

    assert saved.weekdays == [0, 1, 2, 3, 4]
    assert saved.holidays == ["2026-10-01", "2026-10-02"]
    assert saved.to_engine() == engine.WorkCalendar(
        timezone="Asia/Shanghai",
        weekdays=frozenset({0, 1, 2, 3, 4}),
        start=time(9, 30),
        end=time(18),
        holidays=frozenset({date(2026, 10, 1), date(2026, 10, 2)}),
    )


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "not a time zone name"),
        ({"weekdays": []}, "weekdays", "non-empty"),
        ({"weekdays": [7]}, "weekdays", "0 (Monday) to 6 (Sunday)"),
        ({"start": time(18), "end": time(9)}, "end", "must end after it starts"),
        ({"holidays": ["2026-13-01"]}, "holidays", "'2026-13-01' is not a date"),
    ],
)
def test_a_wrong_value_is_refused_on_its_field_and_nothing_is_saved(values, field, words):
    with pytest.raises(ValidationError) as caught:
        do_save_calendar("bad", **values, actor=None)

    assert words in " ".join(caught.value.message_dict[field])
    assert not WorkCalendar.objects.exists()
    assert not AuditEntry.objects.filter(action="work_calendar.saved").exists()


def test_saving_is_audited_with_what_changed(users):
    do_save_calendar("office", actor=users.admin)
    do_save_calendar("office", end=time(17), actor=users.admin)
    do_save_calendar("office", end=time(17), actor=users.admin)  # no change, no entry

    created, changed = AuditEntry.objects.filter(action="work_calendar.saved").order_by("seq")
    assert (created.obj_type, created.obj_id, created.actor_name) == (
        "work_calendar",
        "office",
        "admin",
    )
    assert changed.data == {
        "created": False,
        "before": {"end": "18:00:00"},
        "after": {"end": "17:00:00"},
    }


def test_only_flowdesk_admins_may_save_calendars(users):
    with pytest.raises(PermissionDenied):
        do_save_calendar("office", actor=users.ops_carol)
    assert not WorkCalendar.objects.exists()


def test_deploy_refuses_a_workflow_naming_an_unknown_calendar(demo):
    do_save_calendar("workdays", actor=None)
    document = chain(
        "misnamed",
        [
            step("review", sla={"due": "4h", "calendar": "workday"}),
            {"id": "wait", "type": "timer", "name": "Wait", "timer": {"after": "1h"}},
        ],
    )
    workflow, _problems = do_save_draft(document, actor=None)

    with pytest.raises(WorkflowInvalid) as caught:
        do_deploy_workflow(workflow, actor=None)

    (problem,) = caught.value.problems
    assert problem.path == "nodes[1].sla.calendar"
    assert "work calendar 'workday' does not exist (did you mean 'workdays'?)" in problem.message


# --- the pages --------------------------------------------------------------------------------


@pytest.fixture
def admin_client(users) -> Client:
    client = Client()
    client.force_login(users.admin)
    return client


def test_the_pages_are_for_flowdesk_admins_only(users, client):
    do_save_calendar("office", actor=None)
    assert client.get("/manage/calendars/").status_code == 302  # to sign in
    client.force_login(users.ops_carol)
    for path in ("/manage/calendars/", "/manage/calendars/new/", "/manage/calendars/office/"):
        assert client.get(path).status_code == 403
    assert client.post("/manage/calendars/new/", {"name": "x"}).status_code == 403
    assert not WorkCalendar.objects.filter(name="x").exists()


def test_an_admin_creates_and_edits_a_calendar(admin_client):
    form = {
        "name": "cn-office",
        "timezone": "Asia/Shanghai",
        "weekdays": ["0", "1", "2", "3", "4"],
        "start": "09:00",
        "end": "18:00",
        "holidays": "2026-10-01\n2026-10-02, 2026-10-03",
    }
    created = admin_client.post("/manage/calendars/new/", form)
    assert created.status_code == 302 and created["Location"] == "/manage/calendars/cn-office/"
    calendar = WorkCalendar.objects.get(name="cn-office")
    assert calendar.holidays == ["2026-10-01", "2026-10-02", "2026-10-03"]

    page = admin_client.get("/manage/calendars/cn-office/").content.decode()
    assert 'name="name" value="cn-office"' in page and "disabled" in page
    assert "2026-10-02" in page

    admin_client.post("/manage/calendars/cn-office/", {**form, "name": "renamed", "end": "17:00"})
    calendar.refresh_from_db()
    assert calendar.end == time(17)
    assert not WorkCalendar.objects.filter(name="renamed").exists()  # the name is fixed

    listing = admin_client.get("/manage/calendars/").content.decode()
    assert "cn-office" in listing and "Asia/Shanghai" in listing and "09:00–17:00" in listing


def test_a_refused_form_shows_the_actions_message_next_to_the_field(admin_client):
    form = {"name": "office", "timezone": "Mars/Olympus", "weekdays": ["0"], "start": "09:00"}
    response = admin_client.post("/manage/calendars/new/", {**form, "end": "18:00"})

    assert response.status_code == 200
    page = response.content.decode()
    errors = page[page.index('id="id_timezone_errors"') :][:300]
    assert "&#x27;Mars/Olympus&#x27; is not a time zone name" in errors
    assert not WorkCalendar.objects.exists()


def test_the_administration_menu_links_the_calendars(admin_client):
    assert 'href="/manage/calendars/"' in admin_client.get("/manage/").content.decode()
