import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.transaction import TransactionManagementError

from flowdesk.directory.access import (
    FLOWDESK_ADMINS,
    WORKFLOW_DESIGNERS,
    can_design_workflows,
    is_flowdesk_admin,
    user_business_roles,
)
from flowdesk.directory.actions import (
    do_add_role_member,
    do_add_role_member_nested,
    do_grant_admin_permission,
    do_remove_role_member,
    do_revoke_admin_permission,
    do_save_business,
    do_save_role,
    do_save_user,
    do_set_password,
    do_set_role_members,
)
from flowdesk.directory.models import Business, Role, RoleMembership, get_profile

from .conftest import Call

User = get_user_model()
pytestmark = pytest.mark.django_db


def fields_of(error: pytest.ExceptionInfo) -> set[str]:
    return set(error.value.message_dict)


# --- users --------------------------------------------------------------------------------------


def test_save_user_creates_user_with_profile():
    user, changes = do_save_user(
        "pm_alice",
        email="alice@example.com",
        display_name="Alice",
        language="zh-hans",
        actor=None,
    )
    assert changes == {
        "username": (None, "pm_alice"),
        "email": (None, "alice@example.com"),
        "display_name": (None, "Alice"),
        "language": (None, "zh-hans"),
    }
    user = User.objects.get(username="pm_alice")
    assert user.is_active and not user.has_usable_password()
    profile = get_profile(user)
    assert (profile.display_name, profile.language, profile.manager) == ("Alice", "zh-hans", None)


def test_save_user_updates_only_what_is_given_and_reports_changes(make_user):
    make_user("boss")
    make_user("pm_alice", email="a@example.com", display_name="Alice")
    _user, changes = do_save_user(
        "pm_alice", email="alice@example.com", manager="boss", is_active=False, actor=None
    )
    assert changes == {
        "email": ("a@example.com", "alice@example.com"),
        "is_active": (True, False),
        "manager": (None, "boss"),
    }
    user = User.objects.get(username="pm_alice")
    assert get_profile(user).display_name == "Alice"  # not given, kept
    assert do_save_user("pm_alice", email="alice@example.com", actor=None)[1] == {}


def test_empty_string_clears_email_display_name_and_manager(make_user):
    make_user("boss")
    make_user("pm_alice", email="a@example.com", display_name="Alice", manager="boss")
    _user, changes = do_save_user("pm_alice", email="", display_name="", manager="", actor=None)
    assert changes == {
        "email": ("a@example.com", ""),
        "display_name": ("Alice", ""),
        "manager": ("boss", None),
    }
    assert get_profile(User.objects.get(username="pm_alice")).manager is None


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"username": "bad name!"}, "username", "Enter a valid username"),
        ({"username": "x" * 151}, "username", "at most 150 characters"),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"language": "fr"}, "language", "Value 'fr' is not a valid choice."),
        ({"manager": "nobody"}, "manager", "No user named 'nobody'."),
        ({"is_active": "yes"}, "is_active", "Must be true or false."),
    ],
)
def test_save_user_refuses_bad_values_naming_the_field(kwargs, field, message):
    kwargs = {"username": "someone", **kwargs}
    with pytest.raises(ValidationError) as error:
        do_save_user(kwargs.pop("username"), actor=None, **kwargs)
    assert fields_of(error) == {field}
    assert message in error.value.message_dict[field][0]
    assert not User.objects.exists()


def test_save_user_reports_every_bad_field_at_once():
    with pytest.raises(ValidationError) as error:
        do_save_user("someone", email="nope", language="fr", actor=None)
    assert fields_of(error) == {"email", "language"}


def test_user_cannot_manage_themselves(make_user):
    make_user("pm_alice")
    with pytest.raises(ValidationError) as error:
        do_save_user("pm_alice", manager="pm_alice", actor=None)
    assert error.value.message_dict == {"manager": ["A user cannot be their own manager."]}


def test_manager_cycles_are_refused(make_user):
    make_user("ceo")
    make_user("lead", manager="ceo")
    make_user("dev", manager="lead")
    with pytest.raises(ValidationError) as error:
        do_save_user("ceo", manager="dev", actor=None)
    assert error.value.message_dict == {
        "manager": ["That would make a cycle: ceo → dev → lead → ceo."]
    }
    assert get_profile(User.objects.get(username="ceo")).manager is None
    do_save_user("dev", manager="ceo", actor=None)  # a different shape, no cycle: fine


def test_users_made_elsewhere_get_a_profile_on_demand():
    user = User.objects.create_user("made_elsewhere")
    profile = get_profile(user)
    assert profile.pk is not None and profile.language == "en"
    assert get_profile(User.objects.get(pk=user.pk)) == profile
    _user, changes = do_save_user("made_elsewhere", display_name="Someone", actor=None)
    assert changes == {"display_name": ("", "Someone")}


def test_only_admins_manage_people_but_users_edit_their_own_name_and_language(make_user):
    alice, bob = make_user("pm_alice"), make_user("test_bob")
    with pytest.raises(PermissionDenied):
        do_save_user("test_bob", display_name="Bobby", actor=alice)
    with pytest.raises(PermissionDenied):
        do_save_user("pm_alice", manager="test_bob", actor=alice)
    with pytest.raises(PermissionDenied):
        do_save_user("newcomer", actor=alice)
    _user, changes = do_save_user("pm_alice", display_name="Alice", language="zh-hans", actor=alice)
    assert set(changes) == {"display_name", "language"}
    do_grant_admin_permission(bob, FLOWDESK_ADMINS, actor=None)
    do_save_user("newcomer", manager="pm_alice", actor=bob)


def test_set_password_checks_the_validators(make_user):
    user = make_user("pm_alice")
    with pytest.raises(ValidationError) as error:
        do_set_password(user, "123", actor=None)
    assert fields_of(error) == {"password"}
    do_set_password(user, "a-long-passphrase", actor=None)
    assert User.objects.get(pk=user.pk).check_password("a-long-passphrase")


# --- businesses and roles -----------------------------------------------------------------------


def test_save_business_creates_and_updates():
    business, changes = do_save_business("game-a", name="Game A", actor=None)
    assert changes == {"key": (None, "game-a"), "name": (None, "Game A")}
    _business, changes = do_save_business(
        "game-a", name="Game A", name_zh="游戏A", is_active=False, actor=None
    )
    assert changes == {"name_zh": ("", "游戏A"), "is_active": (True, False)}
    assert do_save_business("game-a", name="Game A", name_zh="游戏A", actor=None)[1] == {}
    assert Business.objects.get().pk == business.pk


@pytest.mark.parametrize(
    ("key", "name", "fields"),
    [
        ("Game A", "Game A", {"key"}),
        ("-game", "Game", {"key"}),
        ("game-a", "", {"name"}),
        ("g" * 65, "Game", {"key"}),
    ],
)
def test_save_business_refuses_bad_keys_and_names(key, name, fields):
    with pytest.raises(ValidationError) as error:
        do_save_business(key, name=name, actor=None)
    assert fields_of(error) == fields
    assert not Business.objects.exists()


def test_save_role_validates_key_and_kind():
    with pytest.raises(ValidationError) as error:
        do_save_role("1qc", kind="team", name="QC", actor=None)
    assert fields_of(error) == {"key", "kind"}
    role, changes = do_save_role("QC", kind=Role.Kind.GENERAL, name="Quality", actor=None)
    assert changes["key"] == (None, "QC") and role.kind == "general"


def test_role_kind_changes_only_while_it_has_no_members(make_user):
    role, _ = do_save_role("qa", kind=Role.Kind.GENERAL, name="QA", actor=None)
    role, changes = do_save_role("qa", kind=Role.Kind.BUSINESS, name="QA", actor=None)
    assert changes == {"kind": ("general", "business")}
    game = do_save_business("game-a", name="Game A", actor=None)[0]
    do_add_role_member(role, make_user("someone"), business=game, actor=None)
    with pytest.raises(ValidationError) as error:
        do_save_role("qa", kind=Role.Kind.GENERAL, name="QA", actor=None)
    assert fields_of(error) == {"kind"}


def test_non_admins_may_not_save_businesses_or_roles(make_user):
    alice = make_user("pm_alice")
    with pytest.raises(PermissionDenied):
        do_save_business("game-a", name="Game A", actor=alice)
    with pytest.raises(PermissionDenied):
        do_save_role("qa", kind="general", name="QA", actor=alice)


# --- membership ---------------------------------------------------------------------------------


def test_business_role_membership_needs_a_business(scenario):
    with pytest.raises(ValidationError) as error:
        do_add_role_member(scenario["roles"]["product"], scenario["users"]["qc_c"], actor=None)
    assert error.value.message_dict == {
        "business": ["product is a business role: say in which business it is held."]
    }


def test_general_role_membership_has_no_business(scenario):
    with pytest.raises(ValidationError) as error:
        do_add_role_member(
            scenario["roles"]["QC"],
            scenario["users"]["pm_alice"],
            business=scenario["businesses"]["game-a"],
            actor=None,
        )
    assert error.value.message_dict == {
        "business": ["QC is a general role: its members belong to no business."]
    }


def test_same_user_holds_different_roles_in_different_businesses(scenario, membership_calls):
    bob, roles, games = scenario["users"]["test_bob"], scenario["roles"], scenario["businesses"]
    assert do_add_role_member(roles["product"], bob, business=games["game-b"], actor=None)
    assert user_business_roles(bob) == {"game-a": {"test"}, "game-b": {"product"}}
    assert membership_calls == [Call("product", "game-b", "test_bob", True)]


def test_add_and_remove_report_whether_anything_changed(scenario, membership_calls):
    qc, alice = scenario["roles"]["QC"], scenario["users"]["pm_alice"]
    assert do_add_role_member(qc, alice, actor=None) is True
    assert do_add_role_member(qc, alice, actor=None) is False
    assert do_remove_role_member(qc, alice, actor=None) is True
    assert do_remove_role_member(qc, alice, actor=None) is False
    assert membership_calls == [
        Call("QC", None, "pm_alice", True),
        Call("QC", None, "pm_alice", False),
    ]


def test_remove_from_one_business_keeps_the_other(scenario, membership_calls):
    ops, carol = scenario["roles"]["ops"], scenario["users"]["ops_carol"]
    do_remove_role_member(ops, carol, business=scenario["businesses"]["game-a"], actor=None)
    assert user_business_roles(carol) == {"game-b": {"ops"}}
    assert membership_calls == [Call("ops", "game-a", "ops_carol", False)]


def test_set_role_members_replaces_the_list_for_one_business(scenario, membership_calls):
    users, product = scenario["users"], scenario["roles"]["product"]
    game_a = scenario["businesses"]["game-a"]
    added, removed = do_set_role_members(
        product, [users["test_bob"], users["qc_c"], users["test_bob"]], business=game_a, actor=None
    )
    assert [u.username for u in added] == ["qc_c", "test_bob"]
    assert [u.username for u in removed] == ["pm_alice"]
    assert membership_calls == [
        Call("product", "game-a", "pm_alice", False),
        Call("product", "game-a", "qc_c", True),
        Call("product", "game-a", "test_bob", True),
    ]
    members = RoleMembership.objects.filter(role=product)
    assert {(m.user.username, m.business.key) for m in members} == {
        ("qc_c", "game-a"),
        ("test_bob", "game-a"),
        ("pm_dave", "game-b"),
    }
    assert do_set_role_members(
        product, [users["qc_c"], users["test_bob"]], business=game_a, actor=None
    ) == ([], [])


def test_set_role_members_checks_the_business_rule(scenario):
    with pytest.raises(ValidationError) as error:
        do_set_role_members(scenario["roles"]["ops"], [], actor=None)
    assert fields_of(error) == {"business"}


def test_non_admins_may_not_change_membership(scenario):
    alice = scenario["users"]["pm_alice"]
    with pytest.raises(PermissionDenied):
        do_add_role_member(scenario["roles"]["QC"], alice, actor=alice)


def test_nested_variants_refuse_to_run_outside_a_transaction(scenario, monkeypatch):
    monkeypatch.setattr(connection, "in_atomic_block", False)
    with pytest.raises(TransactionManagementError):
        do_add_role_member_nested(
            scenario["roles"]["QC"], scenario["users"]["pm_alice"], actor=None
        )


# --- administrative permissions -----------------------------------------------------------------


def test_grant_and_revoke_admin_permission(make_user):
    alice = make_user("pm_alice")
    assert not can_design_workflows(alice)
    assert do_grant_admin_permission(alice, WORKFLOW_DESIGNERS, actor=None) is True
    assert do_grant_admin_permission(alice, WORKFLOW_DESIGNERS, actor=None) is False
    assert can_design_workflows(alice) and not is_flowdesk_admin(alice)
    assert do_revoke_admin_permission(alice, WORKFLOW_DESIGNERS, actor=None) is True
    assert do_revoke_admin_permission(alice, WORKFLOW_DESIGNERS, actor=None) is False
    assert not can_design_workflows(alice)


def test_unknown_permission_group_is_refused(make_user):
    with pytest.raises(ValidationError) as error:
        do_grant_admin_permission(make_user("pm_alice"), "root", actor=None)
    assert fields_of(error) == {"permission_group_key"}


def test_only_admins_grant_permissions(make_user):
    alice = make_user("pm_alice")
    with pytest.raises(PermissionDenied):
        do_grant_admin_permission(alice, FLOWDESK_ADMINS, actor=alice)
