"""Parsing documents into Definitions: defaults, lookups, and errors instead of crashes."""

from __future__ import annotations

import pickle

import pytest

from flowdesk.engine import (
    HUMAN_NODE_TYPES,
    NOTIFY_EVENTS,
    Definition,
    DefinitionError,
    Notify,
    text,
)

from .conftest import END, START, approval, chain, load_example, task, workflow


def test_defaults_are_applied():
    defn = workflow(
        [START, task("t"), approval("cab"), END],
        chain("submit", "t", "cab", "done"),
        [
            {
                "key": "when",
                "type": "datetime",
                "label": "When",
                "default": "2026-01-01T08:00:00+08:00",
            }
        ],
    )
    assert defn.settings.withdraw == "before_first_action"
    assert defn.settings.on_unassigned == "fail"
    assert defn.settings.notify == Notify(channels=("email",), events=NOTIFY_EVENTS)
    assert defn.notify_for("t") == defn.notify_for(None) == defn.settings.notify
    cab = defn.node("cab").approval
    assert (cab.mode, cab.order, cab.on_reject, cab.return_to) == (
        "single", "parallel", "terminate", None,
    )  # fmt: skip
    assert defn.node("t").approval is None
    assert defn.defaults == {"when": "2026-01-01T00:00:00Z"}
    assert defn.on_unassigned(defn.node("t")) == "fail"
    assert frozenset({"start", "task", "approval"}) == HUMAN_NODE_TYPES


def test_lookups_keep_document_order():
    defn = Definition.from_document(load_example())
    assert list(defn.nodes)[:3] == ["submit", "verify_package", "test_confirm"]
    assert list(defn.fields)[0] == "package_url"
    assert [t.source for t in defn.incoming["submit"]] == ["test_passed"]
    assert defn.node("coordinate").label == "Coordinate release resources"
    assert text({"zh": "只有中文"}) == "只有中文"
    assert text(None, "fallback") == "fallback"


def test_definitions_pickle_for_caching():
    defn = Definition.from_document(load_example())
    again = pickle.loads(pickle.dumps(defn))
    assert again.nodes == defn.nodes and again.contexts == defn.contexts


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d.pop("nodes"), "nodes"),
        (lambda d: d["nodes"].append({"id": "x", "type": "robot"}), "nodes[3].type"),
        (lambda d: d["nodes"].append({"type": "task"}), "nodes[3]"),
        (lambda d: d["nodes"].append(dict(END)), "nodes[3].id"),
        (lambda d: d["transitions"].append({"from": "t", "to": "nowhere"}), "transitions[2].to"),
        (lambda d: d["transitions"].append({"from": "t"}), "transitions[2]"),
        (lambda d: d["nodes"][1].update(fields=["ghost"]), "nodes[1].fields"),
        (lambda d: d["nodes"].append({**START, "id": "again"}), "nodes"),
        (lambda d: d["fields"].append({"key": "g", "type": "integer", "default": "x"}),
         "fields.g.default"),
        (lambda d: d["fields"].append({"key": "f", "type": "integer"}), "fields[1].key"),
        (lambda d: d["fields"].append({"type": "integer"}), "fields[1]"),
    ],
)  # fmt: skip
def test_broken_documents_raise_definition_error(change, path):
    doc = {
        "key": "k",
        "name": "K",
        "type": "change",
        "scope": "global",
        "fields": [{"key": "f", "type": "string", "label": "F"}],
        "nodes": [dict(START), task("t"), dict(END)],
        "transitions": chain("submit", "t", "done"),
    }
    change(doc)
    with pytest.raises(DefinitionError) as error:
        Definition.from_document(doc)
    assert error.value.path == path
    assert str(error.value).startswith(path)


def test_unknown_node_lookup():
    defn = Definition.from_document(load_example())
    with pytest.raises(DefinitionError, match="there is no node 'ghost'"):
        defn.node("ghost")


def test_not_a_document():
    with pytest.raises(DefinitionError):
        Definition.from_document(["not", "a", "mapping"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rules", "approvers", "needed"),
    [
        ({"mode": "single"}, 5, 1),
        ({"mode": "any"}, 5, 1),
        ({"mode": "all"}, 5, 5),
        ({"mode": "quorum", "quorum": 3}, 5, 3),
        ({"mode": "quorum", "quorum": 7}, 5, 5),
        ({"mode": "percentage", "percentage": 60}, 4, 3),
        ({"mode": "percentage", "percentage": 50}, 4, 2),
        ({"mode": "percentage", "percentage": 1}, 4, 1),
        ({"mode": "percentage", "percentage": 100}, 3, 3),
    ],
)
def test_approvals_needed(rules, approvers, needed):
    defn = workflow([START, approval("cab", **rules), END], chain("submit", "cab", "done"))
    assert defn.node("cab").approval.needed(approvers) == needed
