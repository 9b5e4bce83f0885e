"""Page views run a bounded number of SQL queries however many tickets or events exist."""

import pytest

from flowdesk.tickets.actions import do_comment_ticket

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("count", [3, 30])
@pytest.mark.parametrize("url", ["/", "/?scope=mine", "/changes/"])
def test_lists(client_for, submit, django_assert_max_num_queries, count, url):
    for number in range(count):
        submit(f"Release {number}")
    client = client_for("pm_alice")
    with django_assert_max_num_queries(10):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("comments", [1, 30])
def test_ticket_page(client_for, submit, users, django_assert_max_num_queries, comments):
    ticket = submit()
    for number in range(comments):
        do_comment_ticket(ticket, actor=users.test_bob, text=f"Note {number}")
    client = client_for("test_bob")
    with django_assert_max_num_queries(18):
        assert client.get(f"/tickets/{ticket.sn}/").status_code == 200
