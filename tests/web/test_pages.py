"""Each page for each kind of user: allowed, hidden (404) and signed out (to the login)."""

import pytest

from flowdesk.api.models import ApiToken
from flowdesk.directory.models import get_profile

pytestmark = pytest.mark.django_db

PAGES = ["/", "/changes/", "/requests/", "/incidents/", "/problems/", "/catalog/", "/profile/"]


@pytest.mark.parametrize("url", PAGES + ["/catalog/app-release/", "/tickets/CRQ1/"])
def test_pages_need_sign_in(client, demo, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", PAGES)
def test_pages_render_for_a_signed_in_user(client_for, url):
    response = client_for("pm_alice").get(url)
    assert response.status_code == 200
    assert b"Alice (product)" in response.content  # the user menu


def test_menu_shows_administration_only_to_admins(client_for):
    assert b'href="/manage/"' in client_for("admin").get("/").content
    assert b'href="/designer/"' in client_for("admin").get("/").content
    assert b'href="/manage/"' not in client_for("pm_alice").get("/").content


def test_ticket_page_for_requester_handler_and_outsider(client_for, submit):
    ticket = submit()
    url = f"/tickets/{ticket.sn}/"
    alice = client_for("pm_alice").get(url)
    assert alice.status_code == 200 and b"Release server 2.4.1" in alice.content
    assert b"Complete" not in alice.content  # nothing for her to do now
    bob = client_for("test_bob").get(url)
    assert bob.status_code == 200
    assert b'name="test_result"' in bob.content  # his step's form
    assert client_for("pm_dave").get(url).status_code == 404  # Game B: not his
    assert client_for("pm_dave").get(url + "print/").status_code == 404


def test_workbench_tabs(client_for, submit):
    ticket = submit()
    bob = client_for("test_bob")
    todo = bob.get("/")
    assert ticket.sn.encode() in todo.content
    assert b'id="fd-todo-count">1<' in todo.content
    assert ticket.sn.encode() not in bob.get("/?scope=mine").content
    assert ticket.sn.encode() in client_for("pm_alice").get("/?scope=mine").content


def test_workbench_search_filter_and_htmx_partial(client_for, submit):
    first, second = submit("Release server 2.4.1"), submit("Hotfix client 1.0.2")
    alice = client_for("pm_alice")
    page = alice.get("/", {"scope": "mine", "q": "hotfix"}, HTTP_HX_REQUEST="true")
    assert second.sn.encode() in page.content and first.sn.encode() not in page.content
    assert b"<html" not in page.content  # only the table for htmx
    by_serial = alice.get("/", {"scope": "mine", "q": first.sn})
    assert first.sn.encode() in by_serial.content and second.sn.encode() not in by_serial.content
    assert second.sn.encode() not in alice.get("/", {"scope": "mine", "status": "finished"}).content
    assert second.sn.encode() in alice.get("/", {"scope": "mine", "from": "2000-01-01"}).content
    assert second.sn.encode() not in alice.get("/", {"scope": "mine", "to": "2000-01-01"}).content


def test_type_menu_lists_tickets_of_its_type_and_links_to_the_catalog(client_for, submit):
    ticket = submit()
    alice = client_for("pm_alice")
    changes = alice.get("/changes/")
    assert ticket.sn.encode() in changes.content
    assert b'href="/catalog/?type=change"' in changes.content
    assert ticket.sn.encode() not in alice.get("/incidents/").content
    catalog = alice.get("/catalog/?type=change")
    assert b"/catalog/app-release/" in catalog.content
    assert b"/catalog/app-release/" not in alice.get("/catalog/?type=incident").content


def test_profile_saves_name_and_language(client_for, users):
    alice = client_for("pm_alice")
    response = alice.post("/profile/", {"display_name": "Alice P.", "language": "zh-hans"})
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "zh-hans"
    profile = get_profile(users.pm_alice)
    assert (profile.display_name, profile.language) == ("Alice P.", "zh-hans")
    bad = alice.post("/profile/", {"display_name": "x", "language": "klingon"})
    assert bad.status_code == 422 and b"invalid-feedback" in bad.content
    assert get_profile(users.pm_alice).display_name == "Alice P."


def test_api_token_is_shown_once_and_can_be_revoked(client_for, users):
    alice = client_for("pm_alice")
    created = alice.post("/profile/tokens/", {"name": "release script"})
    token = ApiToken.objects.get(user=users.pm_alice)
    assert b'id="fd-new-token">fd_' in created.content
    assert b"fd-new-token" not in alice.get("/profile/").content  # never shown again
    assert client_for("test_bob").post(f"/profile/tokens/{token.pk}/revoke/").status_code == 404
    alice.post(f"/profile/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_language_switch_renders_chinese_and_is_remembered(client_for, users):
    alice = client_for("pm_alice")
    alice.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    page = alice.get("/").content.decode()
    assert "工作台" in page and "服务目录" in page
    assert get_profile(users.pm_alice).language == "zh-hans"


def test_login_uses_the_profile_language(client, users):
    profile = get_profile(users.pm_alice)
    profile.language = "zh-hans"
    profile.save(update_fields=["language"])
    response = client.post("/accounts/login/", {"username": "pm_alice", "password": "pw-for-tests"})
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "zh-hans"


def test_workbench_pages_and_sorts(client_for, submit):
    tickets = [submit(f"Release {number:02d}") for number in range(27)]
    alice = client_for("pm_alice")
    first = alice.get("/", {"scope": "mine"}).content.decode()
    second = alice.get("/", {"scope": "mine", "page": 2}).content.decode()
    assert first.count('class="fd-sn"') == 25 and second.count('class="fd-sn"') == 2
    assert tickets[-1].sn in first and tickets[0].sn in second  # newest first
    by_title = alice.get("/", {"scope": "mine", "sort": "title"}).content.decode()
    assert by_title.index("Release 00") < by_title.index("Release 01")
    assert "Release 26" not in by_title  # on page 2 when sorted by title
