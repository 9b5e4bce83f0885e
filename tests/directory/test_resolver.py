import pytest

from flowdesk.directory.actions import do_add_role_member, do_save_user
from flowdesk.directory.resolver import DjangoDirectory, DjangoRoleCatalog

pytestmark = pytest.mark.django_db


@pytest.fixture
def directory(scenario):
    return DjangoDirectory()


def test_business_role_members_are_per_business(directory, scenario, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert directory.business_role_members("product", "game-a") == ["pm_alice"]
    assert directory.business_role_members("product", "game-b") == ["pm_dave"]
    assert directory.business_role_members("ops", "game-a") == ["ops_carol"]
    assert directory.business_role_members("ops", "game-b") == ["ops_carol"]
    assert directory.business_role_members("test", "game-b") == []
    assert directory.business_role_members("nope", "game-a") == []
    assert directory.business_role_members("QC", "game-a") == []


def test_members_are_ordered_by_username_and_inactive_users_left_out(
    directory, scenario, make_user
):
    roles, games = scenario["roles"], scenario["businesses"]
    for name in ["zed", "adam", "gone"]:
        do_add_role_member(roles["product"], make_user(name), business=games["game-a"], actor=None)
    do_add_role_member(roles["QC"], scenario["users"]["pm_alice"], actor=None)
    do_save_user("gone", is_active=False, actor=None)
    assert directory.business_role_members("product", "game-a") == ["adam", "pm_alice", "zed"]
    assert directory.general_role_members("QC") == ["pm_alice", "qc_c"]


def test_general_role_members(directory, scenario, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert directory.general_role_members("QC") == ["qc_c"]
    assert directory.general_role_members("product") == []
    do_save_user("qc_c", is_active=False, actor=None)
    assert directory.general_role_members("QC") == []


def test_manager_of(directory, scenario, make_user, django_assert_num_queries):
    make_user("boss")
    do_save_user("pm_alice", manager="boss", actor=None)
    with django_assert_num_queries(1):
        assert directory.manager_of("pm_alice") == "boss"
    assert directory.manager_of("test_bob") is None
    assert directory.manager_of("nobody") is None
    do_save_user("boss", is_active=False, actor=None)
    assert directory.manager_of("pm_alice") is None  # an inactive manager cannot act


def test_existing_users_are_the_active_ones(directory, scenario, django_assert_num_queries):
    do_save_user("test_bob", is_active=False, actor=None)
    with django_assert_num_queries(1):
        found = directory.existing_users(["pm_alice", "test_bob", "nobody"])
    assert found == {"pm_alice"}
    with django_assert_num_queries(0):
        assert directory.existing_users([]) == set()


def test_role_catalog(scenario, make_user, django_assert_num_queries):
    catalog = DjangoRoleCatalog()
    do_save_user("pm_dave", is_active=False, actor=None)
    with django_assert_num_queries(1):
        assert catalog.business_roles() == {"product", "ops", "test"}
    with django_assert_num_queries(1):
        assert catalog.general_roles() == {"QC"}
    with django_assert_num_queries(1):
        assert catalog.users() == {"pm_alice", "test_bob", "ops_carol", "qc_c"}
