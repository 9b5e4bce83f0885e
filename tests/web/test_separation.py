"""Separation of duties on the ticket page: the reason instead of the buttons, and the
override form that only an admin who handles the step sees."""

import pytest

from flowdesk.tickets import actions
from flowdesk.tickets.models import Task, open_tasks_for
from tests.tickets.test_separation import coordinated, strict_service  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

RULE = "You handled &#x27;Coordinate release resources&#x27; on this ticket"


def panel(client, ticket, task) -> str:
    page = client.get(f"/tickets/{ticket.sn}/").content.decode()
    return page.split(f'id="fd-task-{task.pk}"')[1].split('id="fd-task-')[0]


def release_of(ticket) -> Task:
    return Task.objects.get(ticket=ticket, node_id="release", status=Task.Status.OPEN)


def test_a_barred_handler_sees_why_and_no_buttons(client_for, strict_service, users):  # noqa: F811
    ticket = coordinated(strict_service, users)
    block = panel(client_for("ops_carol"), ticket, release_of(ticket))
    assert "Separation of duties" in block and RULE in block
    assert "/complete/" not in block and 'name="override_reason"' not in block
    other = panel(client_for("admin"), ticket, release_of(ticket))
    assert "/complete/" in other and "Separation of duties" not in other


def test_an_admin_who_is_barred_overrides_with_a_reason(client_for, strict_service, users):  # noqa: F811
    ticket = coordinated(strict_service, users)
    carol, admin = users.ops_carol, users.admin
    actions.do_return_task(release_of(ticket), actor=carol, target="coordinate", reason="again")
    (coordinate,) = open_tasks_for(admin).filter(ticket=ticket)
    actions.do_approve_task(coordinate, actor=admin)
    task = release_of(ticket)
    client = client_for("admin")
    block = panel(client, ticket, task)
    assert RULE in block and 'name="override_reason"' in block and "/complete/" in block

    url = f"/tickets/{ticket.sn}/tasks/{task.pk}/complete/"
    refused = client.post(url, {"release_summary": "Done", "override_reason": ""})
    assert refused.status_code == 422
    assert "Say why separation of duties is overridden." in refused.content.decode()
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN

    done = client.post(url, {"release_summary": "Done", "override_reason": "Carol is ill"})
    assert done.status_code == 302
    event = ticket.events.get(kind="completed", node_id="release")
    assert event.data["override"]["reason"] == "Carol is ill"
    assert event.data["source"] == "web"


def test_posting_as_the_barred_handler_changes_nothing(client_for, strict_service, users):  # noqa: F811
    ticket = coordinated(strict_service, users)
    task, events = release_of(ticket), ticket.events.count()
    client = client_for("ops_carol")
    url = f"/tickets/{ticket.sn}/tasks/{task.pk}/complete/"
    response = client.post(url, {"release_summary": "Done"}, follow=True)
    assert RULE in response.content.decode()
    assert ticket.events.count() == events
