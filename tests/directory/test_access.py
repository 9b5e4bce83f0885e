import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group

from flowdesk.directory.access import (
    ADMIN_GROUPS,
    FLOWDESK_ADMINS,
    SERVICE_OWNERS,
    WORKFLOW_DESIGNERS,
    can_design_workflows,
    can_manage_services,
    is_flowdesk_admin,
    user_business_roles,
    user_general_roles,
)
from flowdesk.directory.actions import do_add_role_member, do_grant_admin_permission, do_save_user

User = get_user_model()
pytestmark = pytest.mark.django_db


def test_the_migration_creates_the_admin_groups(request):
    if request.config.getoption("nomigrations"):
        pytest.skip("the groups come from a data migration; --no-migrations skips it")
    assert set(Group.objects.values_list("name", flat=True)) >= set(ADMIN_GROUPS)
    assert set(ADMIN_GROUPS) == {"flowdesk-admins", "workflow-designers", "service-owners"}


def fresh(user):
    return User.objects.get(pk=user.pk)


@pytest.mark.parametrize(
    ("group", "admin", "designer", "service_owner"),
    [
        (None, False, False, False),
        (FLOWDESK_ADMINS, True, True, True),
        (WORKFLOW_DESIGNERS, False, True, False),
        (SERVICE_OWNERS, False, False, True),
    ],
)
def test_permission_matrix(make_user, group, admin, designer, service_owner):
    user = make_user("someone")
    if group:
        do_grant_admin_permission(user, group, actor=None)
    user = fresh(user)
    assert is_flowdesk_admin(user) is admin
    assert can_design_workflows(user) is designer
    assert can_manage_services(user) is service_owner


def test_superusers_are_admins_unless_inactive(make_user):
    root = User.objects.create_superuser("root", password="x")
    assert is_flowdesk_admin(root) and can_design_workflows(root) and can_manage_services(root)
    root.is_active = False
    assert not is_flowdesk_admin(root)


def test_inactive_group_members_and_anonymous_users_are_nobody(make_user):
    user = make_user("someone")
    do_grant_admin_permission(user, FLOWDESK_ADMINS, actor=None)
    do_save_user("someone", is_active=False, actor=None)
    assert not is_flowdesk_admin(fresh(user))
    anonymous = AnonymousUser()
    assert not (is_flowdesk_admin(anonymous) or can_design_workflows(anonymous))
    assert user_business_roles(anonymous) == {} and user_general_roles(anonymous) == set()


def test_permission_checks_cost_one_query_per_user(make_user, django_assert_num_queries):
    user = make_user("someone")
    do_grant_admin_permission(user, SERVICE_OWNERS, actor=None)
    user = fresh(user)
    with django_assert_num_queries(1):
        assert not is_flowdesk_admin(user)
        assert not can_design_workflows(user)
        assert can_manage_services(user)


def test_user_roles(scenario, django_assert_num_queries):
    users = scenario["users"]
    do_add_role_member(scenario["roles"]["QC"], users["ops_carol"], actor=None)
    with django_assert_num_queries(1):
        assert user_business_roles(users["ops_carol"]) == {"game-a": {"ops"}, "game-b": {"ops"}}
    with django_assert_num_queries(1):
        assert user_general_roles(users["ops_carol"]) == {"QC"}
    assert user_business_roles(users["qc_c"]) == {}
    assert user_general_roles(users["pm_alice"]) == set()
