"""The automation panel on the ticket page and its buttons."""

import pytest
from django.test import Client

from flowdesk.automation.models import AutomationRun

pytestmark = pytest.mark.django_db
Status = AutomationRun.Status


def page_of(user, ticket) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(f"/tickets/{ticket.sn}/")
    assert response.status_code == 200
    return response.content.decode()


def post(user, url: str, data: dict | None = None):
    client = Client()
    client.force_login(user)
    return client.post(url, data or {}, follow=True)


def test_the_panel_shows_the_error_and_offers_the_operators_their_buttons(failed, users):
    ticket, run = failed
    url = f"/tickets/{ticket.sn}/automation/{run.pk}/"

    mine = page_of(users.ops_frank, ticket)
    theirs = page_of(users.pm_alice, ticket)

    for page in (mine, theirs):
        assert f'id="fd-automation-{run.task_id}"' in page and "answered 500" in page
    for action in ("retry", "skip", "complete"):
        assert url + action + "/" in mine and url + action + "/" not in theirs
    assert 'name="deploy_id"' in mine  # complete by hand: the step's fields
    assert f"/tickets/{ticket.sn}/tasks/{run.task_id}/complete/" not in mine


def test_retry_and_skip_from_the_page(failed, users):
    ticket, run = failed
    url = f"/tickets/{ticket.sn}/automation/{run.pk}/"

    response = post(users.ops_frank, url + "retry/")
    assert "The step runs again." in response.content.decode()
    second = AutomationRun.objects.get(ticket=ticket, attempt=2)

    response = post(users.ops_frank, f"/tickets/{ticket.sn}/automation/{second.pk}/skip/")
    assert "Say why the step is skipped." in response.content.decode()
    post(users.ops_frank, f"/tickets/{ticket.sn}/automation/{second.pk}/skip/", {"reason": "ok"})
    second.refresh_from_db()
    assert second.status == Status.SKIPPED


def test_a_requester_is_refused_and_nothing_changes(failed, users):
    ticket, run = failed

    response = post(
        users.pm_alice, f"/tickets/{ticket.sn}/automation/{run.pk}/skip/", {"reason": "x"}
    )

    assert "Only the operators of this step" in response.content.decode()
    run.refresh_from_db()
    assert run.status == Status.FAILED


def test_the_ticket_page_with_an_automation_step_has_bounded_queries(
    failed, users, client, django_assert_max_num_queries
):
    ticket, _run = failed
    client.force_login(users.ops_frank)
    with django_assert_max_num_queries(21):
        client.get(f"/tickets/{ticket.sn}/")
