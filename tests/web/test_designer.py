"""The workflow designer's pages and JSON endpoints: list, new, save, validate, deploy, YAML,
history; and who may use them."""

import copy
import json

import pytest
from django.test import Client
from django.urls import reverse

from flowdesk.directory.access import WORKFLOW_DESIGNERS
from flowdesk.directory.actions import do_grant_admin_permission
from flowdesk.engine.document import dump_document
from flowdesk.workflows.actions import do_deploy_workflow, do_save_draft
from flowdesk.workflows.models import Workflow
from tests.factories import global_workflow

pytestmark = pytest.mark.django_db


def small_workflow() -> dict:
    return global_workflow(
        "small",
        nodes=[
            {
                "id": "work",
                "type": "task",
                "name": "Work",
                "operators": [{"type": "requester"}],
                "fields": ["result"],
            }
        ],
        transitions=[{"from": "submit", "to": "work"}, {"from": "work", "to": "done"}],
        fields=[{"key": "result", "type": "string", "label": "Result"}],
    )


@pytest.fixture
def designer(users) -> Client:
    do_grant_admin_permission(users.pm_dave, WORKFLOW_DESIGNERS, actor=None)
    client = Client()
    client.force_login(users.pm_dave)
    return client


@pytest.fixture
def small(db) -> Workflow:
    workflow, _problems = do_save_draft(small_workflow(), actor=None)
    return workflow


def post_json(client: Client, name: str, key: str, body: dict):
    url = reverse(f"workflows:workflow_{name}", args=[key])
    return client.post(url, json.dumps(body), content_type="application/json")


def test_list_shows_versions_with_who_deployed_them(designer, users, small) -> None:
    do_deploy_workflow(small, actor=users.pm_dave)
    page = designer.get(reverse("workflows:workflow_list")).content.decode()
    assert "small" in page and "app-release" in page
    assert "v1" in page and "pm_dave" in page


def test_new_workflow_starts_a_draft_and_opens_the_editor(designer) -> None:
    form = {"key": "hotfix", "name": "Hotfix", "name_zh": "热修复", "type": "change"}
    response = designer.post(reverse("workflows:workflow_add"), {**form, "scope": "global"})
    assert response.status_code == 302
    assert response.url == reverse("workflows:workflow_edit", args=["hotfix"])
    draft = Workflow.objects.get(key="hotfix").draft
    assert draft["name"] == {"en": "Hotfix", "zh": "热修复"}
    assert [n["type"] for n in draft["nodes"]] == ["start", "end"]
    assert designer.get(response.url).status_code == 200


def test_new_workflow_refuses_a_key_in_use_and_changes_nothing(designer, small) -> None:
    before = copy.deepcopy(small.draft)
    form = {"key": "small", "name": "Other", "type": "request", "scope": "global"}
    response = designer.post(reverse("workflows:workflow_add"), form)
    assert response.status_code == 200
    assert "exists already" in response.content.decode()
    small.refresh_from_db()
    assert small.draft == before


def test_editor_page_carries_the_draft_layout_and_problems(designer, small) -> None:
    small.draft["nodes"][1]["operators"] = [{"type": "general_role", "role": "nobody"}]
    do_save_draft(small.draft, actor=None, layout={"work": [10, 20]})
    response = designer.get(reverse("workflows:workflow_edit", args=["small"]))
    config = json.loads(
        response.content.decode()
        .split('id="fdd-config" type="application/json">')[1]
        .split("</script>")[0]
    )
    assert config["document"]["key"] == "small"
    assert config["layout"] == {"work": [10.0, 20.0]}
    # Role names are checked against the directory, as a deploy would.
    assert any(p["path"].startswith("nodes[1].operators[0]") for p in config["problems"])


def test_save_keeps_an_incomplete_draft_and_returns_its_problems(designer, small) -> None:
    document = small_workflow()
    document["nodes"].insert(2, {"id": "check", "type": "approval", "name": "Check"})
    layout = {"submit": [0, 0], "work": [200, 0], "check": [400, 0], "bad": "x"}
    response = post_json(designer, "save", "small", {"document": document, "layout": layout})
    assert response.status_code == 200
    body = response.json()
    assert body["saved"] is True
    paths = [p["path"] for p in body["problems"]]
    assert any(path.startswith("nodes[2]") for path in paths), paths  # no operators, unreachable
    small.refresh_from_db()
    assert [n["id"] for n in small.draft["nodes"]] == ["submit", "work", "check", "done"]
    assert small.layout == {"submit": [0, 0], "work": [200, 0], "check": [400, 0]}


def test_save_refuses_another_key_or_a_nameless_document(designer, small) -> None:
    before = copy.deepcopy(small.draft)
    other = {**small_workflow(), "key": "elsewhere"}
    response = post_json(designer, "save", "small", {"document": other})
    assert response.status_code == 400
    assert response.json()["problems"][0]["path"] == "key"
    nameless = {k: v for k, v in small_workflow().items() if k != "name"}
    assert post_json(designer, "save", "small", {"document": nameless}).status_code == 400
    assert not Workflow.objects.filter(key="elsewhere").exists()
    small.refresh_from_db()
    assert small.draft == before


def test_validate_names_the_line_at_fault_without_saving(designer, small) -> None:
    document = small_workflow()
    document["transitions"][1]["when"] = {"field": "missing", "op": "eq", "value": 1}
    response = post_json(designer, "validate", "small", {"document": document})
    problems = response.json()["problems"]
    assert any(p["path"].startswith("transitions[1].when") for p in problems), problems
    small.refresh_from_db()
    assert "when" not in small.draft["transitions"][1]


def test_validate_of_a_sound_document_is_empty(designer, small) -> None:
    response = post_json(designer, "validate", "small", {"document": small_workflow()})
    assert response.json() == {"problems": []}


def test_deploy_refuses_an_invalid_draft(designer, small) -> None:
    small.draft["nodes"][1].pop("operators")
    do_save_draft(small.draft, actor=None)
    response = post_json(designer, "deploy", "small", {})
    assert response.status_code == 400
    assert any(p["path"].startswith("nodes[1]") for p in response.json()["problems"])
    assert not small.versions.exists()


def test_deploy_freezes_a_version_once(designer, small) -> None:
    first = post_json(designer, "deploy", "small", {}).json()
    assert first == {"problems": [], "version": 1, "created": True}
    again = post_json(designer, "deploy", "small", {}).json()
    assert again == {"problems": [], "version": 1, "created": False}
    assert small.versions.get().deployed_by.username == "pm_dave"


def test_yaml_round_trip_through_the_text_view(designer, small) -> None:
    text = post_json(designer, "yaml", "small", {"document": small.draft}).json()["yaml"]
    assert text == dump_document(small.draft)
    edited = text.replace("name: Work", "name: {en: Work, zh: 工作}")
    response = post_json(designer, "yaml_apply", "small", {"yaml": edited})
    assert response.status_code == 200
    assert response.json()["document"]["nodes"][1]["name"] == {"en": "Work", "zh": "工作"}
    small.refresh_from_db()
    assert small.draft["nodes"][1]["name"] == {"en": "Work", "zh": "工作"}


def test_yaml_apply_reports_a_syntax_error_and_changes_nothing(designer, small) -> None:
    before = copy.deepcopy(small.draft)
    response = post_json(designer, "yaml_apply", "small", {"yaml": "key: small\nnodes: [\n"})
    assert response.status_code == 400
    assert response.json()["problems"][0]["path"].startswith("line ")
    small.refresh_from_db()
    assert small.draft == before


def test_history_diffs_two_versions(designer, small) -> None:
    do_deploy_workflow(small, actor=None)
    small.draft["nodes"][1]["name"] = "Work hard"
    do_save_draft(small.draft, actor=None)
    do_deploy_workflow(small, actor=None)
    url = reverse("workflows:workflow_history", args=["small"])
    page = designer.get(url).content.decode()
    assert "-    name: Work" in page and "+    name: Work hard" in page
    same = designer.get(url, {"a": "2", "b": "draft"}).content.decode()
    assert "are the same" in same


def test_history_page_queries_do_not_grow_with_versions(
    designer, small, django_assert_max_num_queries
) -> None:
    for name in ("A", "B", "C", "D"):
        small.draft["nodes"][1]["name"] = name
        do_save_draft(small.draft, actor=None)
        do_deploy_workflow(small, actor=None)
    with django_assert_max_num_queries(8):
        designer.get(reverse("workflows:workflow_list"))
    with django_assert_max_num_queries(8):
        designer.get(reverse("workflows:workflow_history", args=["small"]))


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("list", "get"),
        ("add", "get"),
        ("edit", "get"),
        ("save", "post"),
        ("validate", "post"),
        ("deploy", "post"),
        ("yaml", "post"),
        ("yaml_apply", "post"),
        ("history", "get"),
    ],
)
def test_only_designers_may_use_the_designer(users, small, name, method) -> None:
    args = [] if name in ("list", "add") else ["small"]
    url = reverse(f"workflows:workflow_{name}", args=args)
    anonymous = getattr(Client(), method)(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous.url
    client = Client()
    client.force_login(users.pm_alice)
    assert getattr(client, method)(url).status_code == 403
    assert not small.versions.exists()
