"""Administration pages: each change goes through its action, errors sit next to their field
and change nothing, and only admins (people, roles) or service managers (services, catalog)
get in."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from flowdesk.catalog.actions import do_save_directory
from flowdesk.catalog.models import CatalogDirectory, Service
from flowdesk.directory.access import SERVICE_OWNERS, admin_groups_of
from flowdesk.directory.actions import do_grant_admin_permission
from flowdesk.directory.models import Business, Role, RoleMembership
from flowdesk.workflows.models import Workflow

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def admin(users) -> Client:
    client = Client()
    client.force_login(users.admin)
    return client


@pytest.fixture
def service_owner(users) -> Client:
    do_grant_admin_permission(users.ops_frank, SERVICE_OWNERS, actor=None)
    client = Client()
    client.force_login(users.ops_frank)
    return client


def members(role: str, business: str | None = None) -> set[str]:
    rows = RoleMembership.objects.filter(role__key=role, business__key=business)
    return set(rows.values_list("user__username", flat=True))


def test_overview_links_what_the_user_may_manage(admin, service_owner) -> None:
    page = admin.get(reverse("manage:index")).content.decode()
    assert reverse("manage:business_list") in page and reverse("manage:catalog") in page
    page = service_owner.get(reverse("manage:index")).content.decode()
    assert reverse("manage:business_list") not in page and reverse("manage:catalog") in page


def test_business_members_are_added_and_removed_per_role(admin) -> None:
    url = reverse("manage:business_member", args=["game-a", "add"])
    assert admin.post(url, {"role": "test", "user": "test_erin"}).status_code == 302
    assert members("test", "game-a") == {"test_bob", "test_erin"}
    page = admin.get(reverse("manage:business_edit", args=["game-a"])).content.decode()
    assert "test_erin" in page
    url = reverse("manage:business_member", args=["game-a", "remove"])
    admin.post(url, {"role": "test", "user": "test_bob"})
    assert members("test", "game-a") == {"test_erin"}
    assert members("test", "game-b") == {"test_erin"}


def test_a_general_role_cannot_be_given_in_a_business(admin) -> None:
    url = reverse("manage:business_member", args=["game-a", "add"])
    response = admin.post(url, {"role": "QC", "user": "pm_alice"}, follow=True)
    assert "pm_alice" not in members("QC")
    assert "Select a valid choice" in response.content.decode()


def test_general_role_members(admin) -> None:
    url = reverse("manage:role_member", args=["QC", "add"])
    admin.post(url, {"user": "ops_carol"})
    assert members("QC") == {"qc_c", "ops_carol"}
    admin.post(reverse("manage:role_member", args=["QC", "remove"]), {"user": "qc_c"})
    assert members("QC") == {"ops_carol"}


def test_business_create_and_edit(admin) -> None:
    response = admin.post(
        reverse("manage:business_add"),
        {"key": "game-c", "name": "Game C", "name_zh": "游戏C", "is_active": "on"},
    )
    assert response.status_code == 302
    assert Business.objects.get(key="game-c").name_zh == "游戏C"
    url = reverse("manage:business_edit", args=["game-c"])
    admin.post(url, {"key": "ignored", "name": "Game C2", "name_zh": ""})
    business = Business.objects.get(key="game-c")
    assert (business.name, business.is_active) == ("Game C2", False)
    assert not Business.objects.filter(key="ignored").exists()


def test_business_key_error_is_shown_next_to_the_key(admin) -> None:
    response = admin.post(reverse("manage:business_add"), {"key": "Game C!", "name": "C"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="id_key_errors"' in page and "lowercase letters" in page
    assert not Business.objects.filter(name="C").exists()


def test_role_kind_cannot_change_while_it_has_members(admin) -> None:
    url = reverse("manage:role_edit", args=["QC"])
    response = admin.post(url, {"kind": "business", "name": "Quality control"})
    assert response.status_code == 200
    assert 'id="id_kind_errors"' in response.content.decode()
    assert Role.objects.get(key="QC").kind == "general"


def test_user_create_edit_and_deactivate(admin) -> None:
    form = {"username": "dev_gina", "email": "gina@example.com", "display_name": "Gina"}
    response = admin.post(reverse("manage:user_add"), {**form, "language": "zh-hans"})
    assert response.status_code == 302
    gina = User.objects.get(username="dev_gina")
    assert (gina.profile.language, gina.is_active) == ("zh-hans", False)
    url = reverse("manage:user_edit", args=["dev_gina"])
    admin.post(url, {**form, "language": "en", "manager": "pm_alice", "is_active": "on"})
    gina.refresh_from_db()
    assert gina.is_active and gina.profile.manager.username == "pm_alice"


def test_a_manager_cycle_is_refused_next_to_the_manager_field(admin, users) -> None:
    url = reverse("manage:user_edit", args=["pm_alice"])
    admin.post(url, {"username": "x", "language": "en", "manager": "test_bob", "is_active": "on"})
    url = reverse("manage:user_edit", args=["test_bob"])
    form = {"language": "en", "manager": "pm_alice", "is_active": "on"}
    response = admin.post(url, form)
    assert 'id="id_manager_errors"' in response.content.decode()
    assert users.test_bob.profile.manager is None


def test_admin_permissions_are_granted_and_revoked(admin, users) -> None:
    url = reverse("manage:user_permission", args=["qc_c"])
    admin.post(url, {"group": SERVICE_OWNERS, "grant": "1"})
    assert SERVICE_OWNERS in admin_groups_of(users.qc_c)
    admin.post(url, {"group": SERVICE_OWNERS, "grant": "0"})
    assert SERVICE_OWNERS not in admin_groups_of(users.qc_c)
    response = admin.post(url, {"group": "root", "grant": "1"}, follow=True)
    assert "Unknown permission" in response.content.decode()


def test_service_bound_to_latest_or_a_version(service_owner, release_service) -> None:
    workflow = Workflow.objects.get(key="app-release")
    version = workflow.latest_version()
    form = {
        "key": "hotfix",
        "name": "Hotfix release",
        "workflow": workflow.pk,
        "version": version.pk,
        "order": 2,
        "owners": ["ops_frank"],
        "visibility": "businesses",
        "visible_businesses": [Business.objects.get(key="game-b").pk],
    }
    response = service_owner.post(reverse("manage:service_add"), form)
    assert response.status_code == 302
    service = Service.objects.get(key="hotfix")
    assert service.version == version
    assert list(service.owners.values_list("username", flat=True)) == ["ops_frank"]
    url = reverse("manage:service_edit", args=["hotfix"])
    service_owner.post(url, {**form, "version": ""})
    service.refresh_from_db()
    assert service.version is None and service.current_version() == version


def test_service_errors_stay_on_their_fields(service_owner, release_service) -> None:
    workflow = Workflow.objects.get(key="app-release")
    form = {
        "key": "hotfix",
        "name": "Hotfix",
        "workflow": workflow.pk,
        "order": 0,
        "visibility": "roles",
    }
    response = service_owner.post(reverse("manage:service_add"), form)
    assert 'id="id_visible_roles_errors"' in response.content.decode()
    assert not Service.objects.filter(key="hotfix").exists()


def test_catalog_tree_add_move_and_attach(service_owner, release_service) -> None:
    service_owner.post(
        reverse("manage:directory_add"), {"key": "changes", "name": "Changes", "order": 1}
    )
    changes = CatalogDirectory.objects.get(key="changes")
    other = do_save_directory("releases", name="Releases", actor=None)
    url = reverse("manage:directory_edit", args=["releases"])
    service_owner.post(url, {"name": "Releases", "parent": changes.pk, "order": 3})
    other.refresh_from_db()
    assert (other.parent, other.order) == (changes, 3)
    attach = reverse("manage:directory_attach", args=["releases"])
    service_owner.post(attach, {"service": "app-release"})
    release_service.refresh_from_db()
    assert release_service.directory == other
    assert release_service.workflow.key == "app-release"  # the rest of the service is kept
    page = service_owner.get(reverse("manage:catalog")).content.decode()
    tree = page[page.index('id="fdm-tree"') :]
    service_link = reverse("manage:service_edit", args=["app-release"])
    assert tree.index(">Changes<") < tree.index(">Releases<") < tree.index(service_link)


def test_a_directory_cannot_move_into_itself(service_owner) -> None:
    parent = do_save_directory("a", name="A", actor=None)
    do_save_directory("b", name="B", parent=parent, actor=None)
    url = reverse("manage:directory_edit", args=["a"])
    b = CatalogDirectory.objects.get(key="b")
    response = service_owner.post(url, {"name": "A", "parent": b.pk, "order": 0})
    assert 'id="id_parent_errors"' in response.content.decode()
    parent.refresh_from_db()
    assert parent.parent is None


@pytest.mark.parametrize(
    "name,args",
    [
        ("business_list", []),
        ("business_edit", ["game-a"]),
        ("role_list", []),
        ("role_edit", ["QC"]),
        ("user_list", []),
        ("user_edit", ["pm_alice"]),
    ],
)
def test_people_pages_are_for_admins_only(admin, service_owner, users, name, args) -> None:
    url = reverse(f"manage:{name}", args=args)
    assert admin.get(url).status_code == 200
    assert service_owner.get(url).status_code == 403
    client = Client()
    client.force_login(users.pm_alice)
    assert client.get(url).status_code == 403
    assert client.post(url, {"name": "Hijacked", "key": "x", "kind": "general"}).status_code == 403


@pytest.mark.parametrize(
    "name,args", [("service_list", []), ("service_edit", ["app-release"]), ("catalog", [])]
)
def test_service_pages_are_for_service_managers(service_owner, users, release_service, name, args):
    url = reverse(f"manage:{name}", args=args)
    assert service_owner.get(url).status_code == 200
    client = Client()
    client.force_login(users.pm_alice)
    assert client.get(url).status_code == 403
    assert Client().get(url).status_code == 302


def test_member_changes_by_non_admins_change_nothing(users) -> None:
    client = Client()
    client.force_login(users.pm_alice)
    url = reverse("manage:business_member", args=["game-a", "add"])
    assert client.post(url, {"role": "ops", "user": "pm_alice"}).status_code == 403
    assert members("ops", "game-a") == {"ops_carol"}


def test_list_pages_have_bounded_queries(admin, django_assert_max_num_queries) -> None:
    for name in ("business_list", "role_list", "user_list", "service_list", "catalog"):
        with django_assert_max_num_queries(10):
            assert admin.get(reverse(f"manage:{name}")).status_code == 200
