"""check_value for every field type, is_empty, and validate_node_values."""

from __future__ import annotations

import pytest

from flowdesk.engine import FIELD_TYPES, InvalidValues, check_value, is_empty, validate_node_values

from .conftest import END, START, chain, task, workflow

GOOD = [
    ({"type": "string"}, "  hello  ", "hello"),
    ({"type": "string", "pattern": "[A-Z]{3}-\\d+"}, "CRQ-12", "CRQ-12"),
    ({"type": "string", "min": 2, "max": 5}, "abcde", "abcde"),
    ({"type": "text"}, "line one\nline two ", "line one\nline two "),
    ({"type": "text", "max": 2000}, "x" * 2000, "x" * 2000),
    ({"type": "integer"}, 42, 42),
    ({"type": "integer"}, " -7 ", -7),
    ({"type": "integer"}, 3.0, 3),
    ({"type": "integer", "min": 1, "max": 10}, "10", 10),
    ({"type": "decimal"}, "12.50", "12.50"),
    ({"type": "decimal"}, 0.1, "0.1"),
    ({"type": "decimal"}, 7, "7"),
    ({"type": "decimal", "min": 0, "max": "99.9"}, "+99.90", "99.90"),
    ({"type": "boolean"}, True, True),
    ({"type": "boolean"}, "false", False),
    ({"type": "boolean"}, "TRUE", True),
    ({"type": "select", "options": ["pass", "fail"]}, "pass", "pass"),
    ({"type": "select", "options": [{"value": "low", "label": "Low"}]}, "low", "low"),
    ({"type": "multiselect", "options": ["a", "b", "c"]}, ["c", "a"], ["c", "a"]),
    ({"type": "date"}, "2026-02-28", "2026-02-28"),
    ({"type": "date", "min": "2026-01-01", "max": "2026-12-31"}, "2026-06-01", "2026-06-01"),
    ({"type": "datetime"}, "2026-11-27T18:30:00+08:00", "2026-11-27T10:30:00Z"),
    ({"type": "datetime"}, "2026-11-27T10:30:15.123Z", "2026-11-27T10:30:15Z"),
    ({"type": "datetime"}, "2026-11-27 10:30-0130", "2026-11-27T12:00:00Z"),
    ({"type": "datetime", "min": "2026-11-27"}, "2026-11-27T00:00:00Z", "2026-11-27T00:00:00Z"),
    ({"type": "url"}, "https://example.com/a.tgz", "https://example.com/a.tgz"),
    ({"type": "url"}, " s3://bucket/key ", "s3://bucket/key"),
    ({"type": "url"}, "ftp://files.example.com/x", "ftp://files.example.com/x"),
    ({"type": "email"}, "ops@example.com", "ops@example.com"),
    ({"type": "member"}, " test_bob ", "test_bob"),
    ({"type": "members", "max": 2}, ["ann", "ben"], ["ann", "ben"]),
    ({"type": "checksum", "algorithm": "md5"}, "D41D8CD98F00B204E9800998ECF8427E",
     "d41d8cd98f00b204e9800998ecf8427e"),
    ({"type": "checksum", "algorithm": "sha256"}, "ab" * 32, "ab" * 32),
    ({"type": "attachment"}, ["f1", 7], ["f1", "7"]),
]  # fmt: skip

BAD = [
    ({"type": "string"}, "two\nlines", "Enter a single line of text."),
    ({"type": "string"}, 12, "Enter text."),
    ({"type": "string", "pattern": "[A-Z]{3}"}, "ABCD", "Enter a value in the expected format."),
    ({"type": "string", "min": 3}, "ab", "Enter at least 3 characters."),
    ({"type": "text", "max": 2000}, "x" * 2001, "Enter at most 2000 characters."),
    ({"type": "integer"}, "1.5", "Enter a whole number."),
    ({"type": "integer"}, True, "Enter a whole number."),
    ({"type": "integer"}, 2.5, "Enter a whole number."),
    ({"type": "integer", "min": 1}, 0, "Enter a number of at least 1."),
    ({"type": "integer", "max": 10}, "11", "Enter a number of at most 10."),
    ({"type": "decimal"}, "12,5", "Enter a number."),
    ({"type": "decimal"}, float("nan"), "Enter a number."),
    ({"type": "decimal"}, False, "Enter a number."),
    ({"type": "decimal", "max": "9.99"}, "10", "Enter a number of at most 9.99."),
    ({"type": "boolean"}, "yes", "Enter true or false."),
    ({"type": "boolean"}, 1, "Enter true or false."),
    ({"type": "select", "options": ["pass", "fail"]}, "maybe", "Choose one of: pass, fail."),
    ({"type": "multiselect", "options": ["a", "b"]}, ["a", "z"], "Choose only from: a, b."),
    ({"type": "multiselect", "options": ["a", "b"]}, ["a", "a"], "'a' is chosen more than once."),
    ({"type": "multiselect", "options": ["a", "b"]}, "a", "Choose a list of options."),
    ({"type": "multiselect", "options": ["a", "b"], "min": 2}, ["a"], "Give at least 2 options."),
    ({"type": "date"}, "2026-02-30", "Enter a date as YYYY-MM-DD."),
    ({"type": "date"}, "27/11/2026", "Enter a date as YYYY-MM-DD."),
    ({"type": "date", "min": "2026-01-01"}, "2025-12-31", "Enter a date on or after 2026-01-01."),
    ({"type": "date", "max": "2026-01-01"}, "2026-01-02", "Enter a date on or before 2026-01-01."),
    ({"type": "datetime"}, "2026-11-27T10:00:00",
     "Enter a date and time in ISO 8601 with a time zone, e.g. 2026-11-27T10:00:00Z."),
    ({"type": "datetime", "max": "2026-11-27T00:00:00Z"}, "2026-11-27T08:00:01+08:00",
     "Enter a time on or before 2026-11-27T00:00:00Z."),
    ({"type": "url"}, "file:///etc/passwd",
     "Enter a URL starting with http://, https://, ftp:// or s3://."),
    ({"type": "url"}, "https://", "Enter a URL starting with http://, https://, ftp:// or s3://."),
    ({"type": "url"}, "http://a b", "Enter a URL starting with http://, https://, ftp:// or s3://."),
    ({"type": "url", "max": 10}, "http://example.com", "Enter at most 10 characters."),
    ({"type": "email"}, "not-an-address", "Enter a valid e-mail address."),
    ({"type": "member"}, "two words", "Enter a username."),
    ({"type": "members"}, ["ann", "ann"], "'ann' is named more than once."),
    ({"type": "members", "max": 1}, ["ann", "ben"], "Give at most 1 users."),
    ({"type": "checksum", "algorithm": "md5"}, "abc",
     "Enter a 32-character hexadecimal MD5 checksum."),
    ({"type": "checksum", "algorithm": "md5"}, "g" * 32,
     "Enter a 32-character hexadecimal MD5 checksum."),
    ({"type": "checksum", "algorithm": "sha256"}, "a" * 32,
     "Enter a 64-character hexadecimal SHA-256 checksum."),
    ({"type": "attachment"}, "f1", "Enter a list of attachment ids."),
    ({"type": "attachment", "max": 1}, ["a", "b"], "Give at most 1 files."),
]  # fmt: skip


@pytest.mark.parametrize(("field", "value", "expected"), GOOD)
def test_good_values_are_normalised(field, value, expected):
    assert check_value(field, value) == expected


@pytest.mark.parametrize(("field", "value", "message"), BAD)
def test_bad_values_say_what_is_wrong(field, value, message):
    with pytest.raises(ValueError) as error:
        check_value(field, value)
    assert str(error.value) == message


def test_every_type_is_covered():
    covered = {field["type"] for field, _, _ in GOOD + BAD} | {"table"}
    assert covered == FIELD_TYPES


TABLE = {
    "type": "table",
    "max": 3,
    "columns": [
        {"key": "host", "type": "string", "label": "Host", "required": True},
        {"key": "port", "type": "integer", "label": "Port", "min": 1, "max": 65535},
    ],
}


def test_table_rows_are_checked_cell_by_cell():
    rows = [{"host": " web1 ", "port": "8080"}, {"host": "web2"}]
    assert check_value(TABLE, rows) == [
        {"host": "web1", "port": 8080},
        {"host": "web2", "port": None},
    ]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"host": "a"}, {"host": "b", "port": 0}],
         "Row 2, column 'port': Enter a number of at least 1."),
        ([{"port": 80}], "Row 1, column 'host': this column is required."),
        ([{"host": "a", "colour": "red"}], "Row 1 has no column 'colour'."),
        (["web1"], "Row 1: enter an object of column values."),
        ({"host": "a"}, "Enter a list of rows."),
        ([{"host": "a"}] * 4, "Give at most 3 rows."),
    ],
)  # fmt: skip
def test_table_errors_name_row_and_column(rows, message):
    with pytest.raises(ValueError) as error:
        check_value(TABLE, rows)
    assert str(error.value) == message


@pytest.mark.parametrize("value", [None, "", "   ", [], {}, ()])
def test_empty_values(value):
    assert is_empty(value)


@pytest.mark.parametrize("value", [0, False, "0", ["a"], {"a": 1}, " x "])
def test_non_empty_values(value):
    assert not is_empty(value)


# --- validate_node_values -------------------------------------------------------------------

FIELDS = [
    {"key": "risk", "type": "select", "label": "Risk", "options": ["low", "high"],
     "required": True},
    {"key": "rollback", "type": "text", "label": "Rollback plan",
     "required_when": {"field": "risk", "op": "eq", "value": "high"}},
    {"key": "cab_note", "type": "text", "label": "CAB note",
     "visible_when": {"field": "risk", "op": "eq", "value": "high"}, "required": True},
    {"key": "reviewer", "type": "member", "label": "Reviewer"},
    {"key": "watchers", "type": "members", "label": "Watchers"},
    {"key": "note", "type": "string", "label": "Note", "default": "n/a"},
]  # fmt: skip


@pytest.fixture
def defn():
    return workflow(
        [
            START,
            task("assess", fields=("risk", "rollback", "cab_note", "reviewer", "watchers")),
            END,
        ],
        chain("submit", "assess", "done"),
        FIELDS,
    )


def _check(defn, submitted, current=None, **kw):
    return validate_node_values(defn, "assess", submitted, current or {}, **kw)


def test_unknown_key_is_an_error(defn):
    with pytest.raises(InvalidValues) as error:
        _check(defn, {"risk": "low", "note": "x", "bogus": 1})
    assert error.value.errors == {
        "note": ["This step has no field 'note'."],
        "bogus": ["This step has no field 'bogus'."],
    }
    assert error.value.code == "invalid"


def test_required_and_required_when(defn):
    assert _check(defn, {"risk": "low"}) == {"risk": "low"}
    with pytest.raises(InvalidValues) as error:
        _check(defn, {"risk": "high"})
    assert error.value.errors == {
        "rollback": ["This field is required."],
        "cab_note": ["This field is required."],
    }
    with pytest.raises(InvalidValues) as error:
        _check(defn, {})
    assert error.value.errors == {"risk": ["This field is required."]}


def test_values_kept_from_earlier_count(defn):
    current = {"risk": "high", "rollback": "restore snapshot", "cab_note": "ok"}
    assert _check(defn, {}, current) == {}
    assert _check(defn, {"rollback": "redeploy"}, current) == {"rollback": "redeploy"}


def test_clearing_a_required_value_is_refused(defn):
    with pytest.raises(InvalidValues) as error:
        _check(defn, {"risk": ""}, {"risk": "low"})
    assert error.value.errors == {"risk": ["This field is required."]}
    assert _check(defn, {"reviewer": "  "}, {"risk": "low"}, require=False) == {"reviewer": None}


def test_without_require_only_checks_values(defn):
    assert _check(defn, {}, require=False) == {}
    with pytest.raises(InvalidValues):
        _check(defn, {"risk": "medium"}, require=False)


def test_hidden_field_value_is_dropped_and_cleared(defn):
    assert _check(defn, {"risk": "low", "cab_note": "ignored"}) == {"risk": "low"}
    current = {"risk": "high", "rollback": "r", "cab_note": "old note"}
    assert _check(defn, {"risk": "low"}, current) == {"risk": "low", "cab_note": None}


def test_invalid_value_in_hidden_field_is_ignored(defn):
    assert _check(defn, {"risk": "low", "cab_note": 12}) == {"risk": "low"}


def test_members_must_exist(defn, directory):
    with pytest.raises(InvalidValues) as error:
        _check(
            defn,
            {"risk": "low", "reviewer": "zed", "watchers": ["ann", "yan"]},
            known_users=directory.existing_users,
        )
    assert error.value.errors == {
        "reviewer": ["Unknown user 'zed'."],
        "watchers": ["Unknown user 'yan'."],
    }


def test_several_problems_are_reported_together(defn):
    with pytest.raises(InvalidValues) as error:
        _check(defn, {"risk": "high", "reviewer": "a b"})
    assert error.value.errors == {
        "reviewer": ["Enter a username."],
        "rollback": ["This field is required."],
        "cab_note": ["This field is required."],
    }
    assert str(error.value).startswith("Please correct the values.")


def test_conditions_may_use_results():
    fields = [
        {"key": "why", "type": "text", "label": "Why",
         "required_when": {"result": "cab", "op": "eq", "value": "rejected"}},
    ]  # fmt: skip
    defn = workflow(
        [START, task("assess", fields=("why",)), END], chain("submit", "assess", "done"), fields
    )
    assert validate_node_values(defn, "assess", {}, {}, results={"cab": "approved"}) == {}
    with pytest.raises(InvalidValues):
        validate_node_values(defn, "assess", {}, {}, results={"cab": "rejected"})
