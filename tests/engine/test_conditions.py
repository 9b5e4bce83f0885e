"""Conditions: every operator, combinators, results, type normalisation and empties."""

from __future__ import annotations

import pytest

from flowdesk.engine import FIELD_TYPES, OPERATORS, OPERATORS_BY_TYPE, evaluate

FIELDS = {
    "n": {"type": "integer"},
    "price": {"type": "decimal"},
    "flag": {"type": "boolean"},
    "risk": {"type": "select", "options": ["low", "medium", "high"]},
    "tags": {"type": "multiselect", "options": ["db", "web"]},
    "who": {"type": "members"},
    "title": {"type": "string"},
    "body": {"type": "text"},
    "day": {"type": "date"},
    "at": {"type": "datetime"},
    "blank": {"type": "string"},
}
VALUES = {
    "n": 3,
    "price": "12.50",
    "flag": True,
    "risk": "high",
    "tags": ["db"],
    "who": ["ann", "ben"],
    "title": "Release 1.4",
    "body": "Multi\nline",
    "day": "2026-11-27",
    "at": "2026-11-27T10:00:00Z",
    "blank": "  ",
}


def holds(condition: dict, results: dict | None = None) -> bool:
    return evaluate(condition, VALUES, results or {}, FIELDS)


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("n", "eq", 3, True),
        ("n", "eq", "3", True),
        ("n", "ne", 4, True),
        ("n", "lt", 4, True),
        ("n", "le", 3, True),
        ("n", "gt", "2", True),
        ("n", "ge", 4, False),
        ("price", "eq", 12.5, True),
        ("price", "eq", "12.5", True),
        ("price", "gt", "9.99", True),
        ("price", "lt", 100, True),
        ("flag", "eq", True, True),
        ("flag", "eq", "true", True),
        ("flag", "ne", False, True),
        ("risk", "eq", "high", True),
        ("risk", "in", ["high", "medium"], True),
        ("risk", "not_in", ["high", "medium"], False),
        ("risk", "not_in", ["low"], True),
        ("tags", "contains", "db", True),
        ("tags", "contains", "web", False),
        ("who", "contains", "ben", True),
        ("title", "contains", "1.4", True),
        ("body", "contains", "line", True),
        ("title", "contains", "2.0", False),
        ("day", "lt", "2026-12-01", True),
        ("day", "ge", "2026-11-27", True),
        ("at", "gt", "2026-11-27T17:59:00+08:00", True),
        ("at", "eq", "2026-11-27T18:00:00+08:00", True),
        ("at", "lt", "2026-11-27T10:00:00Z", False),
    ],
)
def test_comparisons(field, op, value, expected):
    assert holds({"field": field, "op": op, "value": value}) is expected


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("eq", "x", False),
        ("ne", "x", True),
        ("lt", "x", False),
        ("le", "x", False),
        ("gt", "x", False),
        ("ge", "x", False),
        ("in", ["x"], False),
        ("not_in", ["x"], True),
        ("contains", "x", False),
        ("empty", None, True),
        ("not_empty", None, False),
    ],
)
@pytest.mark.parametrize("field", ["blank", "missing"])
def test_comparison_with_an_empty_field(field, op, value, expected):
    assert holds({"field": field, "op": op, "value": value}) is expected


def test_empty_and_not_empty_on_filled_fields():
    assert holds({"field": "tags", "op": "not_empty"})
    assert not holds({"field": "tags", "op": "empty"})


def test_results():
    results = {"cab": "rejected"}
    assert holds({"result": "cab", "op": "eq", "value": "rejected"}, results)
    assert holds({"result": "cab", "op": "ne", "value": "approved"}, results)
    assert not holds({"result": "other", "op": "eq", "value": "approved"}, results)
    assert holds({"result": "other", "op": "ne", "value": "approved"}, results)


def test_combinators():
    yes = {"field": "n", "op": "eq", "value": 3}
    no = {"field": "n", "op": "eq", "value": 4}
    assert holds({"all": [yes, yes]})
    assert not holds({"all": [yes, no]})
    assert holds({"any": [no, yes]})
    assert not holds({"any": [no, no]})
    assert holds({"not": no})
    assert holds({"all": [{"any": [no, yes]}, {"not": {"all": [yes, no]}}]})
    assert holds({"all": []}) and not holds({"any": []})


def test_mismatched_types_are_false_not_errors():
    assert not holds({"field": "n", "op": "lt", "value": "abc"})
    assert not holds({"field": "title", "op": "gt", "value": 3})


def test_unknown_operator_and_shape():
    with pytest.raises(ValueError):
        holds({"field": "n", "op": "like", "value": 3})
    with pytest.raises(ValueError):
        holds({"op": "eq", "value": 3})


def test_operator_table():
    assert set(OPERATORS_BY_TYPE) == FIELD_TYPES
    assert all(ops <= OPERATORS for ops in OPERATORS_BY_TYPE.values())
    assert OPERATORS_BY_TYPE["integer"] >= {"lt", "le", "gt", "ge", "eq", "in"}
    assert "lt" not in OPERATORS_BY_TYPE["string"]
    assert "contains" in OPERATORS_BY_TYPE["members"]
    assert "eq" not in OPERATORS_BY_TYPE["multiselect"]
    assert OPERATORS_BY_TYPE["table"] == {"empty", "not_empty"}
    assert OPERATORS_BY_TYPE["attachment"] == {"empty", "not_empty"}
