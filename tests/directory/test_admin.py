"""The admin pages: membership edits go through the actions (and so reach the task candidates)."""

import pytest
from django.contrib.auth import get_user_model

from flowdesk.directory.actions import do_grant_admin_permission, do_save_user
from flowdesk.directory.models import Business, Role, RoleMembership, get_profile

from .conftest import Call

User = get_user_model()
pytestmark = pytest.mark.django_db


@pytest.fixture
def site(client, settings, db):
    settings.ROOT_URLCONF = "tests.directory.urls"  # the project's urls.py may not route /admin/
    client.force_login(User.objects.create_superuser("root", password="pw-for-tests"))
    return client


def role_form(role: Role, rows: list[dict], initial: int = 0, **fields) -> dict:
    data = {
        "kind": role.kind,
        "name": role.name,
        "name_zh": role.name_zh,
        "memberships-TOTAL_FORMS": len(rows),
        "memberships-INITIAL_FORMS": initial,
        "memberships-MIN_NUM_FORMS": 0,
        "memberships-MAX_NUM_FORMS": 1000,
        **fields,
    }
    for index, row in enumerate(rows):
        data.update({f"memberships-{index}-{key}": value for key, value in row.items()})
    return data


def existing_rows(role: Role) -> list[dict]:
    return [
        {"id": m.pk, "role": role.pk, "user": m.user_id, "business": m.business_id or ""}
        for m in role.memberships.order_by("pk")
    ]


def change_url(role: Role) -> str:
    return f"/admin/directory/role/{role.pk}/change/"


def test_adding_a_member_in_the_admin_goes_through_the_action(site, scenario, membership_calls):
    qc, alice = scenario["roles"]["QC"], scenario["users"]["pm_alice"]
    rows = [*existing_rows(qc), {"role": qc.pk, "user": alice.pk, "business": ""}]
    response = site.post(change_url(qc), role_form(qc, rows, initial=1))
    assert response.status_code == 302, response.content.decode()
    assert set(qc.memberships.values_list("user__username", flat=True)) == {"qc_c", "pm_alice"}
    assert membership_calls == [Call("QC", None, "pm_alice", True)]


def test_business_role_member_without_business_is_refused(site, scenario, membership_calls):
    product, qc_c = scenario["roles"]["product"], scenario["users"]["qc_c"]
    rows = [*existing_rows(product), {"role": product.pk, "user": qc_c.pk, "business": ""}]
    response = site.post(change_url(product), role_form(product, rows, initial=2))
    assert response.status_code == 200
    assert "product is a business role: say in which business it is held." in (
        response.content.decode()
    )
    assert not RoleMembership.objects.filter(user=qc_c, role=product).exists()
    assert membership_calls == []


def test_deleting_and_changing_rows(site, scenario, membership_calls):
    ops, users = scenario["roles"]["ops"], scenario["users"]
    rows = existing_rows(ops)  # ops_carol in game-a, then in game-b
    rows[0]["DELETE"] = "on"
    rows[1]["user"] = users["test_bob"].pk
    response = site.post(change_url(ops), role_form(ops, rows, initial=2))
    assert response.status_code == 302, response.content.decode()
    assert set(ops.memberships.values_list("user__username", "business__key")) == {
        ("test_bob", "game-b")
    }
    assert membership_calls == [
        Call("ops", "game-a", "ops_carol", False),
        Call("ops", "game-b", "ops_carol", False),
        Call("ops", "game-b", "test_bob", True),
    ]


def test_adding_a_role_with_members(site, scenario, membership_calls):
    alice, game_b = scenario["users"]["pm_alice"], scenario["businesses"]["game-b"]
    data = role_form(
        Role(kind="business", name="Development"),
        [{"user": alice.pk, "business": game_b.pk}],
        key="dev",
    )
    response = site.post("/admin/directory/role/add/", data)
    assert response.status_code == 302, response.content.decode()
    assert Role.objects.get(key="dev").kind == "business"
    assert membership_calls == [Call("dev", "game-b", "pm_alice", True)]


def test_kind_of_a_role_with_members_cannot_change(site, scenario):
    qc = scenario["roles"]["QC"]
    response = site.post(
        change_url(qc), role_form(qc, existing_rows(qc), initial=1, kind="business")
    )
    assert response.status_code == 200
    assert "QC has members as a general role; remove them first." in response.content.decode()


def test_businesses_are_saved_through_the_action(site, db):
    response = site.post(
        "/admin/directory/business/add/", {"key": "game-c", "name": "Game C", "is_active": "on"}
    )
    assert response.status_code == 302
    business = Business.objects.get(key="game-c")
    response = site.post(
        f"/admin/directory/business/{business.pk}/change/",
        {"key": "renamed", "name": "Game C", "name_zh": "游戏C", "is_active": "on"},
    )
    assert response.status_code == 302
    assert list(Business.objects.values_list("key", "name_zh")) == [("game-c", "游戏C")]


def test_only_flowdesk_admins_see_the_directory_pages(client, settings, make_user):
    settings.ROOT_URLCONF = "tests.directory.urls"
    staff = make_user("staff")
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    client.force_login(staff)
    assert client.get("/admin/directory/role/").status_code == 403
    do_grant_admin_permission(staff, "flowdesk-admins", actor=None)
    assert client.get("/admin/directory/role/").status_code == 200


def user_form(user, profile, **profile_fields) -> dict:
    return {
        "username": user.username,
        "email": user.email,
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "profile-TOTAL_FORMS": 1,
        "profile-INITIAL_FORMS": 1,
        "profile-MIN_NUM_FORMS": 0,
        "profile-MAX_NUM_FORMS": 1,
        "profile-0-id": profile.pk,
        "profile-0-user": user.pk,
        "profile-0-display_name": profile.display_name,
        "profile-0-language": profile.language,
        "profile-0-manager": "",
        **{f"profile-0-{key}": value for key, value in profile_fields.items()},
    }


def test_profile_inline_saves_through_the_action_and_refuses_cycles(site, make_user):
    boss = make_user("boss")
    alice = make_user("pm_alice", manager="boss")
    url = f"/admin/auth/user/{boss.pk}/change/"
    response = site.post(url, user_form(boss, get_profile(boss), manager=alice.pk))
    assert response.status_code == 200
    assert "That would make a cycle: boss → pm_alice → boss." in response.content.decode()
    response = site.post(url, user_form(boss, get_profile(boss), display_name="The Boss"))
    assert response.status_code == 302, response.content.decode()
    assert User.objects.get(pk=boss.pk).profile.display_name == "The Boss"


def test_deleting_a_user_removes_memberships_through_the_action(site, scenario, membership_calls):
    carol = scenario["users"]["ops_carol"]
    response = site.post(f"/admin/auth/user/{carol.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(username="ops_carol").exists()
    assert membership_calls == [
        Call("ops", "game-a", "ops_carol", False),
        Call("ops", "game-b", "ops_carol", False),
    ]


def test_deactivated_user_keeps_memberships(scenario):
    do_save_user("ops_carol", is_active=False, actor=None)
    assert RoleMembership.objects.filter(user__username="ops_carol").count() == 2
