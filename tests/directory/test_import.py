"""`flowdesk directory import FILE [--dry-run]`, called as the `directory` management command."""

import copy
import io
import json
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from flowdesk.directory.models import Business, Profile, Role, RoleMembership

from .conftest import Call

User = get_user_model()
pytestmark = pytest.mark.django_db

FULL = {
    "businesses": [
        {"key": "game-a", "name": "Game A", "name_zh": "游戏A"},
        {"key": "game-b", "name": "Game B"},
    ],
    "roles": [
        {"key": "product", "kind": "business", "name": "Product", "name_zh": "产品"},
        {"key": "test", "kind": "business", "name": "Test"},
        {"key": "QC", "kind": "general", "name": "Quality control"},
    ],
    "users": [
        {
            "username": "pm_alice",
            "email": "alice@example.com",
            "display_name": "Alice",
            "manager": "boss",
        },
        {"username": "boss", "email": "boss@example.com", "language": "zh-hans"},
        {"username": "test_bob", "email": "bob@example.com"},
        {"username": "qc_c"},
    ],
    "memberships": [
        {"role": "product", "business": "game-a", "members": ["pm_alice"]},
        {"role": "test", "business": "game-a", "members": ["test_bob"]},
        {"role": "product", "business": "game-b", "members": ["test_bob"]},
        {"role": "QC", "members": ["qc_c"]},
    ],
}

FULL_REPORT = [
    "created business game-a",
    "created business game-b",
    "created role QC",
    "created role product",
    "created role test",
    "created user boss",
    "created user qc_c",
    "created user test_bob",
    "created user pm_alice",
    "added qc_c to QC",
    "added pm_alice to product @ game-a",
    "added test_bob to product @ game-b",
    "added test_bob to test @ game-a",
    "users: 4 created, 0 updated; businesses: 2 created, 0 updated; "
    "roles: 3 created, 0 updated; members: 4 added, 0 removed",
]

FULL_CSV = """\
username,email,display_name,manager,business,business_name,role,role_name
boss,boss@example.com,The Boss,,,,,
pm_alice,alice@example.com,Alice,boss,game-a,Game A,product,Product
test_bob,bob@example.com,Bob,,game-a,Game A,test,Test
test_bob,,,,game-b,Game B,product,
qc_c,qc@example.com,,,,,QC,Quality control
"""


def write(tmp_path, content, name):
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content), encoding="utf-8")
    return str(path)


def run(tmp_path, content, name="directory.json", *args) -> list[str]:
    out = io.StringIO()
    call_command("directory", "import", write(tmp_path, content, name), *args, stdout=out)
    return out.getvalue().splitlines()


def run_invalid(tmp_path, content, name="directory.json") -> list[str]:
    err = io.StringIO()
    with pytest.raises(CommandError) as error:
        call_command(
            "directory", "import", write(tmp_path, content, name), stdout=io.StringIO(), stderr=err
        )
    assert error.value.returncode == 1
    assert "nothing was changed" in str(error.value)
    return err.getvalue().splitlines()


def snapshot() -> tuple:
    """Everything the import can change."""
    return (
        sorted(User.objects.values_list("username", "email", "is_active")),
        sorted(
            Profile.objects.values_list(
                "user__username", "display_name", "language", "manager__username"
            ),
            key=str,
        ),
        sorted(Business.objects.values_list("key", "name", "name_zh", "is_active")),
        sorted(Role.objects.values_list("key", "kind", "name", "name_zh")),
        sorted(
            RoleMembership.objects.values_list("role__key", "user__username", "business__key"),
            key=str,
        ),
    )


def memberships() -> set[tuple]:
    return set(RoleMembership.objects.values_list("role__key", "business__key", "user__username"))


# --- JSON ---------------------------------------------------------------------------------------


def test_json_import_creates_everything_and_reports_each_change(tmp_path, membership_calls):
    assert run(tmp_path, FULL) == FULL_REPORT
    alice = User.objects.get(username="pm_alice")
    assert (alice.email, alice.profile.display_name, alice.profile.manager.username) == (
        "alice@example.com",
        "Alice",
        "boss",
    )
    assert User.objects.get(username="boss").profile.language == "zh-hans"
    assert Business.objects.get(key="game-a").name_zh == "游戏A"
    assert Role.objects.get(key="QC").kind == "general"
    assert memberships() == {
        ("product", "game-a", "pm_alice"),
        ("test", "game-a", "test_bob"),
        ("product", "game-b", "test_bob"),
        ("QC", None, "qc_c"),
    }
    assert Call("product", "game-b", "test_bob", True) in membership_calls
    assert len(membership_calls) == 4


def test_json_import_is_idempotent(tmp_path, membership_calls):
    run(tmp_path, FULL)
    before, calls = snapshot(), len(membership_calls)
    assert run(tmp_path, FULL) == ["no changes"]
    assert snapshot() == before and len(membership_calls) == calls


def test_member_lists_in_the_file_are_authoritative(tmp_path, membership_calls):
    run(tmp_path, FULL)
    update = {
        "users": [{"username": "newbie"}],
        "memberships": [
            {"role": "product", "business": "game-a", "members": ["newbie", "boss"]},
            {"role": "QC", "members": []},
        ],
    }
    assert run(tmp_path, update) == [
        "created user newbie",
        "removed qc_c from QC",
        "removed pm_alice from product @ game-a",
        "added boss to product @ game-a",
        "added newbie to product @ game-a",
        "users: 1 created, 0 updated; businesses: 0 created, 0 updated; "
        "roles: 0 created, 0 updated; members: 2 added, 2 removed",
    ]
    assert memberships() == {
        ("product", "game-a", "boss"),
        ("product", "game-a", "newbie"),
        ("test", "game-a", "test_bob"),  # pairs absent from the file are left alone
        ("product", "game-b", "test_bob"),
    }
    assert User.objects.filter(username__in=["pm_alice", "qc_c"]).count() == 2  # never deleted
    assert membership_calls[-4:] == [
        Call("QC", None, "qc_c", False),
        Call("product", "game-a", "pm_alice", False),
        Call("product", "game-a", "boss", True),
        Call("product", "game-a", "newbie", True),
    ]


def test_users_absent_from_the_file_are_left_alone(tmp_path):
    run(tmp_path, FULL)
    before = snapshot()
    assert run(tmp_path, {"users": [{"username": "boss"}]}) == ["no changes"]
    assert snapshot() == before


def test_updates_report_old_and_new_values(tmp_path):
    run(tmp_path, FULL)
    update = {
        "users": [
            {"username": "pm_alice", "email": "alice@new.example", "display_name": None},
            {"username": "qc_c", "is_active": False},
        ],
        "businesses": [{"key": "game-b", "name": "Game B", "name_zh": "游戏B"}],
        "roles": [{"key": "test", "kind": "business", "name": "Testing"}],
    }
    assert run(tmp_path, update) == [
        "updated business game-b: name_zh (none) → 游戏B",
        "updated role test: name Test → Testing",
        "updated user qc_c: is_active true → false",
        "updated user pm_alice: email alice@example.com → alice@new.example, "
        "display_name Alice → (none)",
        "users: 0 created, 2 updated; businesses: 0 created, 1 updated; "
        "roles: 0 created, 1 updated; members: 0 added, 0 removed",
    ]


def test_managers_can_be_swapped_in_one_file(tmp_path):
    run(tmp_path, FULL)  # pm_alice reports to boss
    update = {
        "users": [
            {"username": "boss", "manager": "pm_alice"},
            {"username": "pm_alice", "manager": ""},
        ]
    }
    assert run(tmp_path, update)[:2] == [
        "updated user pm_alice: manager boss → (none)",
        "updated user boss: manager (none) → pm_alice",
    ]


def test_dry_run_reports_and_writes_nothing(tmp_path, membership_calls):
    before = snapshot()
    report = run(tmp_path, FULL, "directory.json", "--dry-run")
    assert report[:-1] == FULL_REPORT[:-1]
    assert report[-1] == FULL_REPORT[-1] + " (dry run: nothing was written)"
    assert snapshot() == before
    assert run(tmp_path, FULL) == FULL_REPORT


# --- CSV ----------------------------------------------------------------------------------------


def test_csv_import_and_idempotent_second_run(tmp_path):
    assert run(tmp_path, FULL_CSV, "people.csv") == [
        "created business game-a",
        "created business game-b",
        "created role QC",
        "created role product",
        "created role test",
        "created user boss",
        "created user qc_c",
        "created user test_bob",
        "created user pm_alice",
        "added qc_c to QC",
        "added pm_alice to product @ game-a",
        "added test_bob to product @ game-b",
        "added test_bob to test @ game-a",
        "users: 4 created, 0 updated; businesses: 2 created, 0 updated; "
        "roles: 3 created, 0 updated; members: 4 added, 0 removed",
    ]
    bob = User.objects.get(username="test_bob")
    assert (bob.email, bob.profile.display_name) == ("bob@example.com", "Bob")
    assert Business.objects.get(key="game-b").name == "Game B"
    assert Role.objects.get(key="product").name == "Product"
    assert Role.objects.get(key="QC").kind == "general"
    assert User.objects.get(username="pm_alice").profile.manager.username == "boss"
    before = snapshot()
    assert run(tmp_path, FULL_CSV, "people.csv") == ["no changes"]
    assert snapshot() == before


def test_csv_member_lists_are_authoritative_per_role_and_business(tmp_path):
    run(tmp_path, FULL_CSV, "people.csv")
    csv = "username,business,role\nboss,game-a,product\n"
    assert run(tmp_path, csv, "people.csv")[:2] == [
        "removed pm_alice from product @ game-a",
        "added boss to product @ game-a",
    ]
    assert ("product", "game-b", "test_bob") in memberships()


def test_csv_empty_cells_clear_only_columns_that_are_present(tmp_path):
    run(tmp_path, FULL_CSV, "people.csv")
    assert run(tmp_path, "username,role\npm_alice,\n", "people.csv") == ["no changes"]
    report = run(tmp_path, "username,display_name,manager\npm_alice,,\n", "people.csv")
    assert report[0] == "updated user pm_alice: display_name Alice → (none), manager boss → (none)"


def test_csv_with_byte_order_mark_and_blank_lines(tmp_path):
    (tmp_path / "excel.csv").write_text("username,email\n\nnewbie,n@example.com\n", "utf-8-sig")
    out = io.StringIO()
    call_command("directory", "import", str(tmp_path / "excel.csv"), stdout=out)
    assert out.getvalue().splitlines()[0] == "created user newbie"


# --- invalid input ------------------------------------------------------------------------------


def with_(section, *items, base=None):
    """A valid file (a new user and a new business) plus the given items in a section."""
    document = copy.deepcopy(base or {"users": [{"username": "newbie"}], "businesses": []})
    document.setdefault(section, []).extend(items)
    return document


NOT_EMAIL = "Enter a valid email address."
BAD_USERNAME = (
    "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ "
    "characters."
)
BAD_BUSINESS_KEY = (
    "Enter a key of lowercase letters, digits, '-' and '_', starting with a letter or digit."
)
BAD_ROLE_KEY = "Enter a key of letters, digits, '-' and '_', starting with a letter."

JSON_CASES = {
    "syntax": ('{"users": [', ["file: not valid JSON: Expecting value (line 1, column 12)"]),
    "not an object": (
        [],
        ["file: must be an object with the lists users, businesses, roles, memberships"],
    ),
    "unknown section": (
        {"groups": []},
        ["groups: unknown key; expected users, businesses, roles, memberships"],
    ),
    "section not a list": ({"users": {"username": "x"}}, ["users: must be a list"]),
    "item not an object": (with_("users", "pm_x"), ["users[1]: must be an object"]),
    "bad email": (
        with_("users", {"username": "x"}, {"username": "y", "email": "nope"}),
        [f"users[2].email: {NOT_EMAIL}"],
    ),
    "missing username": (
        with_("users", {"email": "a@example.com"}),
        ["users[1].username: This field is required."],
    ),
    "bad username": (
        with_("users", {"username": "bad name!"}),
        [f"users[1].username: {BAD_USERNAME}"],
    ),
    "is_active not a boolean": (
        with_("users", {"username": "x", "is_active": "yes"}),
        ["users[1].is_active: must be true or false"],
    ),
    "unknown language": (
        with_("users", {"username": "x", "language": "fr"}),
        ["users[1].language: Value 'fr' is not a valid choice."],
    ),
    "misspelt key": (
        with_("users", {"username": "x", "emial": "x@example.com"}),
        [
            "users[1].emial: unknown key; expected username, email, display_name, language, "
            "manager, is_active"
        ],
    ),
    "username twice": (
        with_("users", {"username": "newbie"}),
        ["users[1].username: newbie is already listed at users[0]"],
    ),
    "unknown manager": (
        with_("users", {"username": "x", "manager": "nobody"}),
        ["users[1].manager: No user named 'nobody'."],
    ),
    "own manager": (
        with_("users", {"username": "x", "manager": "x"}),
        ["users[1].manager: A user cannot be their own manager."],
    ),
    "manager cycle in the file": (
        with_("users", {"username": "a", "manager": "b"}, {"username": "b", "manager": "a"}),
        [
            "users[1].manager: That would make a cycle: a → b → a.",
            "users[2].manager: That would make a cycle: b → a → b.",
        ],
    ),
    "manager cycle with the database": (
        with_("users", {"username": "boss", "manager": "pm_alice"}),
        ["users[1].manager: That would make a cycle: boss → pm_alice → boss."],
    ),
    "bad business key": (
        with_("businesses", {"key": "Game C", "name": "Game C"}),
        [f"businesses[0].key: {BAD_BUSINESS_KEY}"],
    ),
    "business without name": (
        with_("businesses", {"key": "game-c"}),
        ["businesses[0].name: This field is required."],
    ),
    "bad role kind": (
        with_("roles", {"key": "qa", "kind": "team", "name": "QA"}),
        ["roles[0].kind: Value 'team' is not a valid choice."],
    ),
    "bad role key": (
        with_("roles", {"key": "1qa", "kind": "general", "name": "QA"}),
        [f"roles[0].key: {BAD_ROLE_KEY}"],
    ),
    "kind change of a role with members": (
        with_("roles", {"key": "product", "kind": "general", "name": "Product"}),
        ["roles[0].kind: product has members as a business role; remove them first."],
    ),
    "unknown role": (
        with_("memberships", {"role": "nope", "members": []}),
        ["memberships[0].role: No role named 'nope'."],
    ),
    "unknown business": (
        with_("memberships", {"role": "product", "business": "game-z", "members": []}),
        ["memberships[0].business: No business named 'game-z'."],
    ),
    "business role without business": (
        with_("memberships", {"role": "product", "members": ["newbie"]}),
        ["memberships[0].business: product is a business role: say in which business it is held."],
    ),
    "general role with business": (
        with_("memberships", {"role": "QC", "business": "game-a", "members": ["newbie"]}),
        ["memberships[0].business: QC is a general role: its members belong to no business."],
    ),
    "unknown member": (
        with_("memberships", {"role": "QC", "members": ["newbie", "nobody"]}),
        ["memberships[0].members[1]: No user named 'nobody'."],
    ),
    "member twice": (
        with_("memberships", {"role": "QC", "members": ["newbie", "newbie"]}),
        ["memberships[0].members[1]: newbie is listed twice"],
    ),
    "member not a string": (
        with_("memberships", {"role": "QC", "members": [7]}),
        ["memberships[0].members[0]: must be a username (a string)"],
    ),
    "members not a list": (
        with_("memberships", {"role": "QC", "members": "newbie"}),
        ["memberships[0].members: must be a list of usernames"],
    ),
    "missing members": (
        with_("memberships", {"role": "QC"}),
        ["memberships[0].members: This field is required."],
    ),
    "role and business twice": (
        with_(
            "memberships",
            {"role": "product", "business": "game-a", "members": []},
            {"role": "product", "business": "game-a", "members": ["newbie"]},
        ),
        ["memberships[1]: product @ game-a is already listed at memberships[0]"],
    ),
    "every problem at once": (
        {
            "users": [{"username": "x", "email": "nope", "language": "fr"}],
            "roles": [{"key": "qa", "kind": "team", "name": ""}],
            "memberships": [{"role": "QC", "members": ["nobody"]}],
        },
        [
            f"users[0].email: {NOT_EMAIL}",
            "users[0].language: Value 'fr' is not a valid choice.",
            "roles[0].kind: Value 'team' is not a valid choice.",
            "roles[0].name: This field cannot be blank.",
            "memberships[0].members[0]: No user named 'nobody'.",
        ],
    ),
}


@pytest.mark.parametrize(("content", "expected"), JSON_CASES.values(), ids=JSON_CASES.keys())
def test_invalid_json_reports_every_problem_and_changes_nothing(tmp_path, content, expected):
    run(tmp_path, FULL)
    before = snapshot()
    assert run_invalid(tmp_path, content) == expected
    assert snapshot() == before


CSV_CASES = {
    "empty file": (
        "",
        [
            "header: the file is empty; expected a header row: username,email,display_name,"
            "language,manager,is_active,business,business_name,business_name_zh,role,role_name,"
            "role_name_zh"
        ],
    ),
    "unknown column": (
        "username,groups\nnewbie,x\n",
        [
            "header: unknown column 'groups'; expected username, email, display_name, language, "
            "manager, is_active, business, business_name, business_name_zh, role, role_name, "
            "role_name_zh"
        ],
    ),
    "no username column": ("email\na@example.com\n", ["header: the username column is required"]),
    "column twice": ("username,email,email\n", ["header: column 'email' appears twice"]),
    "missing username": (
        "username,email\nnewbie,\n,x@example.com\n",
        ["row 3.username: This field is required."],
    ),
    "bad email": ("username,email\nnewbie,nope\n", [f"row 2.email: {NOT_EMAIL}"]),
    "bad is_active": (
        "username,is_active\nnewbie,maybe\n",
        ["row 2.is_active: must be true or false (or yes/no, 1/0)"],
    ),
    "bad language": (
        "username,language\nnewbie,fr\n",
        ["row 2.language: Value 'fr' is not a valid choice."],
    ),
    "unknown manager": (
        "username,manager\nnewbie,nobody\n",
        ["row 2.manager: No user named 'nobody'."],
    ),
    "business without role": (
        "username,business\nnewbie,game-a\n",
        ["row 2.role: This field is required when business is given."],
    ),
    "rows disagree on a user": (
        "username,email\nnewbie,a@example.com\nnewbie,b@example.com\n",
        ["row 3.email: 'b@example.com' differs from 'a@example.com' at row 2.email"],
    ),
    "rows disagree on a role name": (
        "username,role,role_name\nnewbie,qa,A\nqc_c,qa,B\n",
        ["row 3.role_name: 'B' differs from 'A' at row 2.role_name"],
    ),
    "role with and without business": (
        "username,business,role\nnewbie,game-a,qa\nnewbie,,qa\n",
        ["row 3.business: qa is a business role (business given at row 2): give a business"],
    ),
    "general role given a business": (
        "username,business,role\nnewbie,game-a,QC\n",
        ["row 2.business: QC is a general role: its members belong to no business."],
    ),
    "business role without business": (
        "username,business,role\nnewbie,,product\n",
        ["row 2.business: product is a business role: say in which business it is held."],
    ),
    "same assignment twice": (
        "username,business,role\nnewbie,game-a,product\nnewbie,game-a,product\n",
        ["row 3: newbie already holds product @ game-a at row 2"],
    ),
    "too many cells": (
        "username,email\nnewbie,a@example.com,x\n",
        ["row 2: 3 cells, but the header has 2 columns"],
    ),
    "bad business key": (
        "username,business,role\nnewbie,Game C,product\n",
        [f"row 2.business: {BAD_BUSINESS_KEY}"],
    ),
    "bad role key": ("username,role\nnewbie,1qa\n", [f"row 2.role: {BAD_ROLE_KEY}"]),
}


@pytest.mark.parametrize(("content", "expected"), CSV_CASES.values(), ids=CSV_CASES.keys())
def test_invalid_csv_reports_every_problem_and_changes_nothing(tmp_path, content, expected):
    run(tmp_path, FULL)
    before = snapshot()
    assert run_invalid(tmp_path, content, "people.csv") == expected
    assert snapshot() == before


def test_file_that_is_not_utf8(tmp_path):
    (tmp_path / "latin1.csv").write_bytes("username\nJosé\n".encode("latin-1"))
    err = io.StringIO()
    with pytest.raises(CommandError) as error:
        call_command("directory", "import", str(tmp_path / "latin1.csv"), stderr=err)
    assert error.value.returncode == 1
    assert err.getvalue().splitlines() == ["file: not UTF-8 text"]


@pytest.mark.parametrize(
    ("name", "message"),
    [("people.xml", "the name must end in .json or .csv"), ("missing.json", "No such file")],
)
def test_usage_errors_exit_with_status_2(tmp_path, name, message):
    if name.endswith(".xml"):
        (tmp_path / name).write_text("<people/>")
    with pytest.raises(CommandError) as error:
        call_command("directory", "import", str(tmp_path / name))
    assert error.value.returncode == 2
    assert message in str(error.value)


def test_a_subcommand_is_required():
    with pytest.raises(CommandError, match="required"):
        call_command("directory")


def test_the_examples_in_the_docs_import_cleanly(tmp_path):
    docs = (Path(__file__).parents[2] / "docs" / "directory.md").read_text(encoding="utf-8")
    examples = re.findall(r"```(json|csv)\n(.*?)```", docs, flags=re.S)
    assert [fmt for fmt, _text in examples] == ["json", "csv"]
    for fmt, text in examples:
        assert run(tmp_path, text, f"example.{fmt}")[-1] != "no changes"
        assert run(tmp_path, text, f"example.{fmt}") == ["no changes"]
