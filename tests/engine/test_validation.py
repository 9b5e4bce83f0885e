"""Workflow document validation: the schema, the rules, and reading/writing documents."""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from flowdesk.engine.conditions import OPERATORS
from flowdesk.engine.definition import NODE_TYPES, Definition
from flowdesk.engine.document import DocumentError, dump_document, load_document
from flowdesk.engine.fields import FIELD_TYPES
from flowdesk.engine.validation import (
    SCHEMA_PATH,
    Problem,
    format_path,
    validate_document,
    workflow_schema,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "app-release.yaml"

# A small document that uses most of the format: conditions, an approval that returns, a
# parallel block, operators of several kinds.
BASE = """
key: base
name: Base
type: request
scope: business
fields:
  - {key: title, type: string, label: Title, required: true}
  - {key: risk, type: select, label: Risk, options: [low, high]}
  - {key: amount, type: integer, label: Amount, min: 0, max: 100}
  - {key: approver, type: member, label: Approver}
  - {key: tags, type: multiselect, label: Tags, options: [a, b]}
nodes:
  - {id: submit, type: start, name: Submit, fields: [title, risk, amount, approver, tags]}
  - id: review
    type: approval
    name: Review
    operators: [{type: field, field: approver}]
    approval: {mode: single, on_reject: return, return_to: submit}
  - {id: route, type: exclusive}
  - {id: split, type: parallel_split}
  - {id: build, type: task, name: Build, operators: [{type: general_role, role: dev}]}
  - {id: check, type: task, name: Check, operators: [{type: node_handler, node: submit}]}
  - {id: join, type: parallel_join}
  - {id: done, type: end}
transitions:
  - {from: submit, to: review}
  - {from: review, to: route}
  - {from: route, to: split, when: {field: risk, op: eq, value: high}}
  - {from: route, to: done, default: true}
  - {from: split, to: build}
  - {from: split, to: check}
  - {from: build, to: join}
  - {from: check, to: join}
  - {from: join, to: done}
"""

# Tiny graphs for the block-structure rules: start → split → (a, b) → join → end.
BLOCK = """
key: block
name: Block
type: change
scope: global
nodes:
  - {id: s, type: start, name: S}
  - {id: split, type: parallel_split}
  - {id: a, type: task, name: A, operators: [{type: requester}]}
  - {id: b, type: task, name: B, operators: [{type: requester}]}
  - {id: join, type: parallel_join}
  - {id: e, type: end}
transitions:
  - {from: s, to: split}
  - {from: split, to: a}
  - {from: split, to: b}
  - {from: a, to: join}
  - {from: b, to: join}
  - {from: join, to: e}
"""

# System steps and their options: a checksum check that returns, an SLA with escalation, a
# timer on a datetime field, an HTTP call that polls, a timer in working time.
SYSTEM = """
key: system
name: System steps
type: change
scope: business
settings:
  notify: {channels: [email, chat], events: [task_opened, finished, sla_breach], remind_every: 4h}
fields:
  - {key: package_url, type: url, label: Package}
  - {key: package_md5, type: checksum, algorithm: md5, label: MD5}
  - {key: planned_at, type: datetime, label: Planned}
  - {key: job_id, type: string, label: Job}
  - {key: approver, type: member, label: Approver}
nodes:
  - {id: submit, type: start, name: Submit, fields: [package_url, package_md5, planned_at]}
  - id: verify
    type: automation
    name: Verify package
    automation:
      action: checksum
      checksum: {url_field: package_url, md5_field: package_md5}
      on_failure: return
      return_to: submit
  - id: review
    type: task
    name: Review
    operators: [{type: general_role, role: dev}]
    sla:
      due: 4h
      calendar: workdays
      warn_at: 75
      escalate_to: [{type: field, field: approver}]
      reassign: true
    notify: {events: [task_opened, reminder], remind_every: 1h}
  - id: wait
    type: timer
    name: Wait for the planned time
    timer: {until_field: planned_at}
  - id: deploy
    type: automation
    name: Deploy
    operators: [{type: general_role, role: dev}]
    fields: [job_id]
    sla: {due: 1h}
    automation:
      action: http
      request:
        method: POST
        url: "https://deploy.example/api/jobs?sn={{ ticket.serial }}"
        headers: {Authorization: "Bearer {{ secrets.DEPLOY_TOKEN }}"}
        body:
          package: "{{ values.package_url }}"
          md5: "{{ values['package_md5'] }}"
          tags: ["{{ ticket.serial }}"]
        timeout: 20s
      retries: 2
      wait: poll
      poll:
        url: "https://deploy.example/api/jobs/{{ values.job_id }}"
        interval: 30s
        timeout: 2h
        success: {path: status, eq: done}
        failure: {path: status, in: [failed, error]}
      outputs: {job_id: id}
  - id: cool_down
    type: timer
    name: Cool down
    timer: {after: 2h, calendar: workdays}
  - {id: done, type: end}
transitions:
  - {from: submit, to: verify}
  - {from: verify, to: review}
  - {from: review, to: wait}
  - {from: wait, to: deploy}
  - {from: deploy, to: cool_down}
  - {from: cool_down, to: done}
"""

BASES = {"base": BASE, "block": BLOCK, "system": SYSTEM}


def base(name: str = "base") -> dict:
    return load_document(BASES[name])


def example() -> dict:
    return load_document(EXAMPLE.read_text(encoding="utf-8"), filename=EXAMPLE.name)


# --- editing a document by path --------------------------------------------------------------


def _steps(path: str) -> list:
    return [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]


def _parent(doc: dict, path: str) -> tuple:
    *head, last = _steps(path)
    for step in head:
        doc = doc[step]
    return doc, last


def S(path: str, value: object):  # set a value
    def apply(doc: dict) -> None:
        parent, last = _parent(doc, path)
        parent[last] = copy.deepcopy(value)

    return apply


def D(path: str):  # delete a key or item
    def apply(doc: dict) -> None:
        parent, last = _parent(doc, path)
        del parent[last]

    return apply


def A(path: str, *values: object):  # append to a list
    def apply(doc: dict) -> None:
        parent, last = _parent(doc, path)
        parent[last].extend(copy.deepcopy(values))

    return apply


def mutated(edits: list, name: str = "base") -> dict:
    doc = base(name)
    for apply in edits:
        apply(doc)
    return doc


def task(node_id: str, **extra: object) -> dict:
    return {
        "id": node_id,
        "type": "task",
        "name": node_id,
        "operators": [{"type": "requester"}],
    } | extra


def go(source: str, target: str, **extra: object) -> dict:
    return {"from": source, "to": target, **extra}


WHEN_HIGH = {"field": "risk", "op": "eq", "value": "high"}

# (id, edits, expected path, key phrase of the message[, base document])
INVALID = [
    # --- schema -------------------------------------------------------------------------------
    ("missing-nodes", [D("nodes")], "(document)", "'nodes' is required"),
    ("unknown-top-key", [S("typo", 1)], "(document)", "'typo' is not an allowed key here"),
    ("misspelt-key-suggests", [S("nodes[4].nmae", "x")], "nodes[4]", "did you mean 'name'"),
    ("bad-node-type", [S("nodes[4].type", "tsk")], "nodes[4].type", "did you mean 'task'"),
    (
        "node-type-choices",
        [S("nodes[4].type", "human")],
        "nodes[4].type",
        "must be one of: start, task, approval, timer, automation, exclusive, parallel_split, "
        "parallel_join, end",
    ),
    (
        "field-key-pattern",
        [S("fields[0].key", "Title")],
        "fields[0].key",
        "Use lower-case letters, digits and _ (starting with a letter",
    ),
    ("workflow-key-pattern", [S("key", "x")], "key", "Use 2-63 lower-case letters"),
    ("text-not-text", [S("name", 5)], "name", "must be a text: a string or {en: ..., zh: ...}"),
    (
        "text-unknown-language",
        [S("name", {"en": "x", "fr": "y"})],
        "name",
        "'fr' is not an allowed key here",
    ),
    ("text-needs-en", [S("name", {"zh": "名"})], "name", "'en' is required"),
    ("scope-choices", [S("scope", "team")], "scope", "must be one of: business, global"),
    (
        "setting-choices",
        [S("settings", {"withdraw": "always"})],
        "settings.withdraw",
        "must be one of: never, before_first_action, any_time",
    ),
    (
        "string-expected-quote",
        [S("nodes[4].operators[0].role", 12)],
        "nodes[4].operators[0].role",
        "must be a string (put the value in quotes)",
    ),
    (
        "condition-bad-op",
        [S("transitions[2].when.op", "equals")],
        "transitions[2].when.op",
        "must be one of: eq, ne",
    ),
    (
        "condition-missing-value",
        [D("transitions[2].when.value")],
        "transitions[2].when",
        "'value' is required",
    ),
    (
        "condition-empty-with-value",
        [S("transitions[2].when.op", "empty")],
        "transitions[2].when.value",
        "empty and not_empty take no value",
    ),
    (
        "condition-in-needs-list",
        [S("transitions[2].when.op", "in")],
        "transitions[2].when.value",
        "in and not_in compare with a list",
    ),
    (
        "condition-not-a-condition",
        [S("transitions[2].when", "risk == high")],
        "transitions[2].when",
        "must be a condition: {field, op, value}",
    ),
    (
        "condition-nested",
        [S("transitions[2].when", {"all": [{"field": "risk", "op": "eq"}]})],
        "transitions[2].when.all[0]",
        "'value' is required",
    ),
    (
        "condition-result-op",
        [S("transitions[2].when", {"result": "review", "op": "lt", "value": "approved"})],
        "transitions[2].when.op",
        "must be one of: eq, ne",
    ),
    (
        "condition-unknown-key",
        [S("transitions[2].when.values", ["x"])],
        "transitions[2].when",
        "'values' is not an allowed key here (did you mean 'value'?)",
    ),
    (
        "quorum-without-mode",
        [S("nodes[1].approval.quorum", 2)],
        "nodes[1].approval.quorum",
        "'quorum' is only used with mode: quorum",
    ),
    (
        "quorum-required",
        [S("nodes[1].approval.mode", "quorum")],
        "nodes[1].approval",
        "'quorum' is required",
    ),
    (
        "percentage-range",
        [S("nodes[1].approval.mode", "percentage"), S("nodes[1].approval.percentage", 150)],
        "nodes[1].approval.percentage",
        "must be at most 100",
    ),
    (
        "percentage-without-mode",
        [S("nodes[1].approval.percentage", 50)],
        "nodes[1].approval.percentage",
        "'percentage' is only used with mode: percentage",
    ),
    (
        "return-to-required",
        [D("nodes[1].approval.return_to")],
        "nodes[1].approval",
        "'return_to' is required",
    ),
    (
        "return-to-without-return",
        [S("nodes[1].approval.on_reject", "terminate")],
        "nodes[1].approval.return_to",
        "'return_to' is only used with on_reject: return",
    ),
    (
        "operator-needs-role",
        [S("nodes[4].operators", [{"type": "general_role"}])],
        "nodes[4].operators[0]",
        "'role' is required",
    ),
    (
        "operator-extra-key",
        [S("nodes[4].operators", [{"type": "requester", "role": "x"}])],
        "nodes[4].operators[0].role",
        "'role' is not used by a requester operator",
    ),
    (
        "operator-users-empty",
        [S("nodes[4].operators", [{"type": "users", "users": []}])],
        "nodes[4].operators[0].users",
        "must not be empty",
    ),
    ("task-needs-operators", [D("nodes[4].operators")], "nodes[4]", "'operators' is required"),
    ("task-needs-name", [D("nodes[4].name")], "nodes[4]", "'name' is required"),
    (
        "approval-key-on-task",
        [S("nodes[4].approval", {"mode": "all"})],
        "nodes[4].approval",
        "'approval' is only used on approval nodes",
    ),
    (
        "operators-on-gateway",
        [S("nodes[2].operators", [{"type": "requester"}])],
        "nodes[2].operators",
        "only start, task, approval, timer and automation nodes have operators",
    ),
    (
        "claim-on-start",
        [S("nodes[0].claim", True)],
        "nodes[0].claim",
        "only task and approval nodes take this key",
    ),
    (
        "node-lists-field-twice",
        [A("nodes[0].fields", "title")],
        "nodes[0].fields",
        'lists "title" more than once',
    ),
    (
        "pattern-on-integer",
        [S("fields[2].pattern", "[0-9]+")],
        "fields[2].pattern",
        "'pattern' is only used on string and text fields",
    ),
    ("options-required", [D("fields[1].options")], "fields[1]", "'options' is required"),
    (
        "options-on-string",
        [S("fields[0].options", ["a"])],
        "fields[0].options",
        "'options' is only used on select and multiselect fields",
    ),
    (
        "option-value-not-string",
        [S("fields[1].options", [1, 2])],
        "fields[1].options[0]",
        "must be a string or {value: ..., label: ...}",
    ),
    (
        "algorithm-required",
        [A("fields", {"key": "md5", "type": "checksum", "label": "MD5"})],
        "fields[5]",
        "'algorithm' is required",
    ),
    (
        "columns-required",
        [A("fields", {"key": "rows", "type": "table", "label": "Rows"})],
        "fields[5]",
        "'columns' is required",
    ),
    (
        "column-type-not-table",
        [
            A(
                "fields",
                {
                    "key": "rows",
                    "type": "table",
                    "label": "Rows",
                    "columns": [{"key": "sub", "type": "table", "label": "Sub"}],
                },
            )
        ],
        "fields[5].columns[0].type",
        "must be one of: string, text",
    ),
    (
        "min-on-boolean",
        [A("fields", {"key": "ok", "type": "boolean", "label": "OK", "min": 1})],
        "fields[5].min",
        "'min' and 'max' do not apply to boolean",
    ),
    ("length-not-whole", [S("fields[0].max", 2.5)], "fields[0].max", "must be a whole number"),
    (
        "transition-default-false",
        [S("transitions[3].default", False)],
        "transitions[3].default",
        "write default: true, or leave 'default' out",
    ),
    # --- nodes and transitions ------------------------------------------------------------------
    (
        "no-start",
        [S("nodes[0].type", "task"), S("nodes[0].operators", [{"type": "requester"}])],
        "nodes",
        "there is no start node",
    ),
    (
        "two-starts",
        [S("nodes[4]", {"id": "build", "type": "start", "name": "B"})],
        "nodes[4].type",
        "a workflow has one start node, and nodes[0] is it",
    ),
    (
        "no-end",
        [S("nodes[7]", task("done")), A("transitions", go("done", "submit"))],
        "nodes",
        "there is no end node",
    ),
    (
        "duplicate-node-id",
        [S("nodes[5].id", "build")],
        "nodes[5].id",
        "'build' is already used by nodes[4]",
    ),
    (
        "duplicate-field-key",
        [S("fields[1].key", "title")],
        "fields[1].key",
        "'title' is already used by fields[0]",
    ),
    (
        "dangling-to",
        [S("transitions[0].to", "reviw")],
        "transitions[0].to",
        "no node has the id 'reviw' (did you mean 'review'?)",
    ),
    (
        "dangling-from",
        [S("transitions[8].from", "jion")],
        "transitions[8].from",
        "no node has the id 'jion'",
    ),
    (
        "duplicate-transition",
        [A("transitions", go("build", "join"))],
        "transitions[9]",
        "repeats transitions[6] (the same from and to)",
    ),
    (
        "node-lists-unknown-field",
        [A("nodes[0].fields", "nope")],
        "nodes[0].fields[5]",
        "no field has the key 'nope'",
    ),
    (
        "unreachable",
        [A("nodes", task("orphan")), A("transitions", go("orphan", "done"))],
        "nodes[8]",
        "cannot be reached from the start node",
    ),
    (
        "cannot-finish",
        [
            A("nodes", task("limbo")),
            S("transitions[3].to", "limbo"),
            A("transitions", go("limbo", "limbo")),
        ],
        "nodes[8]",
        "no path leads from this node to an end node",
    ),
    (
        "end-has-outgoing",
        [A("transitions", go("done", "submit"))],
        "transitions[9].from",
        "an end node has no outgoing transitions",
    ),
    (
        "task-two-ways-out",
        [A("transitions", go("submit", "route"))],
        "nodes[0]",
        "a start node has exactly one outgoing transition, but 2 leave it",
    ),
    (
        "task-no-way-out",
        [D("transitions[6]")],
        "nodes[4]",
        "a task node needs one outgoing transition, and it has none",
    ),
    (
        "branch-needs-outcomes",
        [S("nodes[1].approval", {"on_reject": "branch"})],
        "nodes[1]",
        "needs exactly one outgoing transition with outcome: approved and one with outcome: "
        "rejected",
    ),
    (
        "branch-transition-needs-outcome",
        [
            S("nodes[1].approval", {"on_reject": "branch"}),
            S("transitions[1].outcome", "approved"),
            A("transitions", go("review", "submit")),
        ],
        "transitions[9]",
        "needs outcome: approved or rejected",
    ),
    (
        "outcome-without-branch",
        [S("transitions[1].outcome", "approved")],
        "transitions[1].outcome",
        "'outcome' is only used on transitions leaving an approval node with on_reject: branch",
    ),
    (
        "when-off-exclusive",
        [S("transitions[0].when", WHEN_HIGH)],
        "transitions[0].when",
        "'when' is only used on transitions leaving an exclusive gateway ('submit' is a start",
    ),
    (
        "default-off-exclusive",
        [S("transitions[0].default", True)],
        "transitions[0].default",
        "'default' is only used on transitions leaving an exclusive gateway",
    ),
    (
        "exclusive-no-default",
        [D("transitions[3].default"), S("transitions[3].when", WHEN_HIGH)],
        "nodes[2]",
        "needs exactly one transition with default: true (it has 0)",
    ),
    (
        "exclusive-bare-transition",
        [D("transitions[3].default")],
        "transitions[3]",
        "a transition leaving an exclusive gateway needs 'when' (or default: true)",
    ),
    (
        "exclusive-default-with-when",
        [S("transitions[2].default", True)],
        "transitions[2].default",
        "a default transition has no 'when'",
    ),
    (
        "exclusive-no-condition",
        [D("transitions[2].when"), S("transitions[2].default", True)],
        "nodes[2]",
        "needs at least one transition with a 'when' condition",
    ),
    (
        "split-one-way",
        [D("transitions[7]"), D("transitions[5]"), A("transitions", go("check", "done"))],
        "nodes[3]",
        "a parallel_split needs at least two outgoing transitions",
    ),
    (
        "join-one-way-in",
        [S("transitions[7].to", "done")],
        "nodes[6]",
        "a parallel_join needs at least two incoming transitions",
    ),
    (
        "join-two-ways-out",
        [A("transitions", go("join", "submit"))],
        "nodes[6]",
        "a parallel_join needs exactly one outgoing transition (it has 2)",
    ),
    (
        "gateway-loop",
        [
            A("nodes", {"id": "g1", "type": "exclusive"}, {"id": "g2", "type": "exclusive"}),
            S("transitions[3].to", "g1"),
            A(
                "transitions",
                go("g1", "done", when=WHEN_HIGH),
                go("g1", "g2", default=True),
                go("g2", "done", when=WHEN_HIGH),
                go("g2", "g1", default=True),
            ),
        ],
        "nodes[8]",
        "this loop has no human step in it; a ticket would spin forever (through g1, g2)",
    ),
    # --- conditions -----------------------------------------------------------------------------
    (
        "condition-unknown-field",
        [S("transitions[2].when.field", "rsk")],
        "transitions[2].when.field",
        "no field has the key 'rsk' (did you mean 'risk'?)",
    ),
    (
        "condition-unknown-node",
        [S("transitions[2].when", {"result": "nope", "op": "eq", "value": "approved"})],
        "transitions[2].when.result",
        "no node has the id 'nope'",
    ),
    (
        "condition-result-not-approval",
        [S("transitions[2].when", {"result": "build", "op": "eq", "value": "approved"})],
        "transitions[2].when.result",
        "'build' is a task node; 'result' names an approval node",
    ),
    (
        "condition-result-later",
        [
            S("nodes[5].type", "approval"),
            S("transitions[2].when", {"result": "check", "op": "eq", "value": "approved"}),
        ],
        "transitions[2].when.result",
        "approval 'check' never comes before this gateway",
    ),
    (
        "condition-op-type",
        [S("transitions[2].when.op", "lt")],
        "transitions[2].when.op",
        "'lt' does not apply to a select field; use one of: eq, ne, in, not_in, empty, not_empty",
    ),
    (
        "condition-op-article",
        [S("transitions[2].when", {"field": "amount", "op": "contains", "value": 1})],
        "transitions[2].when.op",
        "'contains' does not apply to an integer field",
    ),
    (
        "condition-not-an-option",
        [S("transitions[2].when.value", "hihg")],
        "transitions[2].when.value",
        "'hihg' is not an option of field 'risk' (options: low, high)",
    ),
    (
        "condition-in-not-an-option",
        [S("transitions[2].when", {"field": "risk", "op": "in", "value": ["low", "medium"]})],
        "transitions[2].when.value[1]",
        "'medium' is not an option of field 'risk'",
    ),
    (
        "condition-contains-not-an-option",
        [S("transitions[2].when", {"field": "tags", "op": "contains", "value": "c"})],
        "transitions[2].when.value",
        "'c' is not an option of field 'tags'",
    ),
    (
        "condition-wrong-type",
        [S("transitions[2].when", {"field": "amount", "op": "gt", "value": "many"})],
        "transitions[2].when.value",
        "does not fit field 'amount' (integer): Enter a whole number",
    ),
    (
        "condition-empty-value",
        [S("transitions[2].when", {"field": "title", "op": "eq", "value": ""})],
        "transitions[2].when.value",
        "test for an empty field with op: empty or not_empty",
    ),
    (
        "required-when-itself",
        [S("fields[0].required_when", {"field": "title", "op": "empty"})],
        "fields[0].required_when.field",
        "a field's condition cannot depend on the field itself",
    ),
    (
        "visible-when-unknown",
        [S("fields[0].visible_when", {"any": [{"field": "nope", "op": "empty"}]})],
        "fields[0].visible_when.any[0].field",
        "no field has the key 'nope'",
    ),
    (
        "required-twice",
        [S("fields[0].required_when", {"field": "risk", "op": "empty"})],
        "fields[0].required_when",
        "has no effect: the field is always required",
    ),
    # --- operators ------------------------------------------------------------------------------
    (
        "operator-field-unknown",
        [S("nodes[1].operators[0].field", "aprover")],
        "nodes[1].operators[0].field",
        "no field has the key 'aprover' (did you mean 'approver'?)",
    ),
    (
        "operator-field-not-member",
        [S("nodes[1].operators[0].field", "title")],
        "nodes[1].operators[0].field",
        "'title' is a string field; an operator's field must be of type member or members",
    ),
    (
        "handler-unknown",
        [S("nodes[5].operators[0].node", "nobody")],
        "nodes[5].operators[0].node",
        "no node has the id 'nobody'",
    ),
    (
        "handler-not-human",
        [S("nodes[5].operators[0].node", "route")],
        "nodes[5].operators[0].node",
        "'route' is an exclusive node; node_handler names a human",
    ),
    (
        "handler-not-before",
        [S("nodes[5].operators[0].node", "build")],
        "nodes[5].operators[0].node",
        "'build' never comes before this node",
    ),
    (
        "business-role-global",
        [
            S("scope", "global"),
            S("nodes[4].operators[0]", {"type": "business_role", "role": "dev"}),
        ],
        "nodes[4].operators[0].type",
        "scope: global has no business",
    ),
    # --- approvals ------------------------------------------------------------------------------
    (
        "return-to-unknown",
        [S("nodes[1].approval.return_to", "sbumit")],
        "nodes[1].approval.return_to",
        "no node has the id 'sbumit' (did you mean 'submit'?)",
    ),
    (
        "return-to-gateway",
        [S("nodes[1].approval.return_to", "route")],
        "nodes[1].approval.return_to",
        "'route' is an exclusive node; return_to names",
    ),
    (
        "return-to-itself",
        [S("nodes[1].approval.return_to", "review")],
        "nodes[1].approval.return_to",
        "an approval cannot return to itself",
    ),
    (
        "return-to-later",
        [S("nodes[1].approval.return_to", "build")],
        "nodes[1].approval.return_to",
        "'build' never comes before this node",
    ),
    # --- field definitions ----------------------------------------------------------------------
    (
        "default-invalid",
        [S("fields[2].default", 500)],
        "fields[2].default",
        "is not a valid value for this field: Enter a number of at most 100.",
    ),
    (
        "default-not-option",
        [S("fields[1].default", "medium")],
        "fields[1].default",
        "is not a valid value for this field: Choose one of: low, high.",
    ),
    (
        "options-repeat",
        [A("fields[1].options", "low")],
        "fields[1].options[2]",
        "repeats the option value 'low'",
    ),
    ("min-above-max", [S("fields[2].min", 200)], "fields[2].min", "is greater than max (100)"),
    (
        "pattern-broken",
        [S("fields[0].pattern", "([a-z")],
        "fields[0].pattern",
        "is not a valid regular expression",
    ),
    (
        "date-bound",
        [A("fields", {"key": "due", "type": "date", "label": "Due", "min": "yesterday"})],
        "fields[5].min",
        "must be a date as YYYY-MM-DD",
    ),
    (
        "date-bounds-order",
        [
            A(
                "fields",
                {
                    "key": "due",
                    "type": "date",
                    "label": "Due",
                    "min": "2026-02-01",
                    "max": "2026-01-01",
                },
            )
        ],
        "fields[5].min",
        "is greater than max (2026-01-01)",
    ),
    (
        "column-default",
        [
            A(
                "fields",
                {
                    "key": "rows",
                    "type": "table",
                    "label": "Rows",
                    "columns": [{"key": "n", "type": "integer", "label": "N", "default": "x"}],
                },
            )
        ],
        "fields[5].columns[0].default",
        "is not a valid value for this field: Enter a whole number",
    ),
    (
        "column-keys-repeat",
        [
            A(
                "fields",
                {
                    "key": "rows",
                    "type": "table",
                    "label": "Rows",
                    "columns": [
                        {"key": "n", "type": "text", "label": "N"},
                        {"key": "n", "type": "text", "label": "M"},
                    ],
                },
            )
        ],
        "fields[5].columns[1].key",
        "'n' is already used by columns[0]",
    ),
    # --- parallel blocks ------------------------------------------------------------------------
    (
        "split-branch-to-end",
        [
            S("transitions[7].to", "done"),
            A("nodes", task("extra")),
            A("transitions", go("split", "extra"), go("extra", "join")),
        ],
        "nodes[3]",
        "its branches do not all meet at one parallel_join before an end",
    ),
    (
        "join-without-split",
        [
            S("transitions[2].to", "build"),
            S("transitions[3].to", "check"),
            D("transitions[5]"),
            D("transitions[4]"),
            D("nodes[3]"),
        ],
        "nodes[5]",
        "no parallel_split opens a block that this join closes",
    ),
    (
        "branches-meet-early",
        [
            S("nodes[5]", {"id": "check", "type": "exclusive"}),
            S("transitions[7]", go("check", "join", when=WHEN_HIGH)),
            A("transitions", go("check", "build", default=True)),
        ],
        "nodes[3]",
        "the branches to 'build' and 'check' meet at 'build' before the join 'join'",
    ),
    (
        "branch-two-arrivals",
        [
            S("nodes[5]", {"id": "check", "type": "exclusive"}),
            A("nodes", task("extra")),
            S("transitions[7]", go("check", "join", when=WHEN_HIGH)),
            A("transitions", go("check", "extra", default=True), go("extra", "join")),
        ],
        "nodes[3]",
        "the branch to 'check' reaches the join 'join' by 2 transitions",
    ),
    (
        "branch-leaves-block",
        [
            S("nodes[3]", {"id": "b", "type": "exclusive"}),
            S("fields", [{"key": "f", "type": "boolean", "label": "F"}]),
            S("transitions[4]", go("b", "join", when={"field": "f", "op": "eq", "value": True})),
            A("transitions", go("b", "s", default=True)),
        ],
        "transitions[6]",
        "leaves the parallel block from 'split' to 'join'",
        "block",
    ),
    (
        "block-entered",
        [
            A("nodes", {"id": "g", "type": "exclusive"}),
            S("fields", [{"key": "f", "type": "boolean", "label": "F"}]),
            S("transitions[0].to", "g"),
            A(
                "transitions",
                go("g", "split", when={"field": "f", "op": "eq", "value": True}),
                go("g", "join", default=True),
            ),
        ],
        "transitions[7]",
        "leads into the parallel block from 'split' to 'join' from outside",
        "block",
    ),
    (
        "join-closes-two-splits",
        [
            S("nodes[3]", {"id": "b", "type": "parallel_split"}),
            A("nodes", task("c"), task("d")),
            S("transitions[4]", go("b", "c")),
            A("transitions", go("b", "d"), go("c", "join"), go("d", "join")),
        ],
        "nodes[4]",
        "closes the branches of several parallel_splits (split, b)",
        "block",
    ),
    (
        "return-into-other-block",
        [
            A(
                "nodes",
                {"id": "split2", "type": "parallel_split"},
                {
                    "id": "c",
                    "type": "approval",
                    "name": "C",
                    "operators": [{"type": "requester"}],
                    "approval": {"on_reject": "return", "return_to": "a"},
                },
                task("d"),
                {"id": "join2", "type": "parallel_join"},
            ),
            S("transitions[5]", go("join", "split2")),
            A(
                "transitions",
                go("split2", "c"),
                go("split2", "d"),
                go("c", "join2"),
                go("d", "join2"),
                go("join2", "e"),
            ),
        ],
        "nodes[7].approval.return_to",
        "'a' lies in another branch of the parallel block that 'split' opens",
        "block",
    ),
]


class Catalog:
    def business_roles(self) -> set[str]:
        return {"product", "test", "ops"}

    def general_roles(self) -> set[str]:
        return {"QC", "dev"}

    def users(self) -> set[str] | None:
        return {"alice", "bob"}

    def calendars(self) -> set[str]:
        return {"workdays", "shanghai"}

    def secrets(self) -> set[str]:
        return {"DEPLOY_TOKEN", "CI_HOOK"}


DIRECTORY_CASES = [
    (
        "business-role-unknown",
        [S("nodes[4].operators[0]", {"type": "business_role", "role": "tset"})],
        "nodes[4].operators[0].role",
        "business role 'tset' does not exist (did you mean 'test'?)",
    ),
    (
        "general-role-unknown",
        [S("nodes[4].operators[0].role", "qa")],
        "nodes[4].operators[0].role",
        "general role 'qa' does not exist",
    ),
    (
        "user-unknown",
        [S("nodes[4].operators[0]", {"type": "users", "users": ["alice", "zed"]})],
        "nodes[4].operators[0].users[1]",
        "user 'zed' does not exist",
    ),
    (
        "default-user-unknown",
        [S("fields[3].default", "zed")],
        "fields[3].default",
        "user 'zed' does not exist",
    ),
]


def _case_doc(case: tuple) -> dict:
    return mutated(case[1], case[4] if len(case) > 4 else "base")


def _assert_reported(problems: list[Problem], path: str, phrase: str) -> None:
    hits = [p for p in problems if p.path == path and phrase in p.message]
    assert hits, f"expected {path}: …{phrase}…, got:\n" + "\n".join(map(str, problems))


# --- valid documents ---------------------------------------------------------------------------


def test_example_is_valid() -> None:
    assert validate_document(example()) == []


@pytest.mark.parametrize("name", sorted(BASES))
def test_base_documents_are_valid(name: str) -> None:
    assert validate_document(base(name)) == []


VALID_VARIANTS = {
    # A field filled at two steps is allowed: the later step edits the earlier value.
    "field-filled-twice": [S("nodes[4].fields", ["title"])],
    "approval-branch": [
        S("nodes[1].approval", {"mode": "all", "on_reject": "branch"}),
        S("transitions[1].outcome", "approved"),
        A("transitions", go("review", "submit", outcome="rejected")),
    ],
    "countersign-modes": [
        S("nodes[1].approval", {"mode": "quorum", "quorum": 2, "order": "sequential"})
    ],
    "nested-blocks": [
        A(
            "nodes",
            {"id": "inner", "type": "parallel_split"},
            task("x"),
            task("y"),
            {"id": "inner_join", "type": "parallel_join"},
        ),
        S("transitions[4]", go("split", "inner")),
        A(
            "transitions",
            go("inner", "x"),
            go("inner", "y"),
            go("x", "inner_join"),
            go("y", "inner_join"),
            go("inner_join", "build"),
        ),
    ],
    # The runtime allows a return from inside a branch to before the block (it redoes the block).
    "return-out-of-block": [
        S(
            "nodes[5]",
            {
                "id": "check",
                "type": "approval",
                "name": "Check",
                "operators": [{"type": "requester"}],
                "approval": {"on_reject": "return", "return_to": "submit"},
            },
        ),
    ],
    "conditions-of-every-kind": [
        S(
            "transitions[2].when",
            {
                "all": [
                    {"field": "amount", "op": "ge", "value": "10"},
                    {"field": "risk", "op": "in", "value": ["low", "high"]},
                    {"field": "tags", "op": "contains", "value": "a"},
                    {"not": {"field": "title", "op": "empty"}},
                    {
                        "any": [
                            {"result": "review", "op": "eq", "value": "approved"},
                            {"field": "approver", "op": "ne", "value": "alice"},
                        ]
                    },
                ]
            },
        ),
        S("fields[4].visible_when", {"field": "risk", "op": "eq", "value": "high"}),
    ],
    "field-kinds": [
        A(
            "fields",
            {
                "key": "due",
                "type": "datetime",
                "label": "Due",
                "min": "2026-01-01",
                "max": "2026-12-31T23:00:00+08:00",
                "default": "2026-06-01T09:00:00Z",
            },
            {"key": "price", "type": "decimal", "label": "Price", "min": "0.01", "default": 9.5},
            {"key": "md5", "type": "checksum", "algorithm": "md5", "label": "MD5"},
            {
                "key": "ref",
                "type": "string",
                "label": "Ref",
                "pattern": "CRQ[0-9]+",
                "default": "CRQ1",
            },
            {
                "key": "rows",
                "type": "table",
                "label": "Rows",
                "max": 3,
                "columns": [
                    {"key": "host", "type": "string", "label": "Host", "required": True},
                    {
                        "key": "kind",
                        "type": "select",
                        "label": "Kind",
                        "options": [{"value": "db", "label": {"en": "Database", "zh": "数据库"}}],
                    },
                ],
                "default": [{"host": "a", "kind": "db"}],
            },
        ),
    ],
}


@pytest.mark.parametrize("name", sorted(VALID_VARIANTS))
def test_valid_variants(name: str) -> None:
    doc = mutated(VALID_VARIANTS[name])
    assert validate_document(doc, directory=Catalog()) == []
    Definition.from_document(doc)


def test_valid_documents_parse_as_definitions() -> None:
    for doc in (example(), *map(base, BASES)):
        assert validate_document(doc) == []
        definition = Definition.from_document(doc)
        assert set(definition.nodes) == {node["id"] for node in doc["nodes"]}
    assert Definition.from_document(base()).split_join == {"split": "join"}


def test_example_with_a_directory() -> None:
    assert validate_document(example(), directory=Catalog()) == []
    assert validate_document(base("system"), directory=Catalog()) == []


# --- invalid documents -------------------------------------------------------------------------


@pytest.mark.parametrize("case", INVALID, ids=[case[0] for case in INVALID])
def test_invalid_documents(case: tuple) -> None:
    _assert_reported(validate_document(_case_doc(case)), case[2], case[3])


@pytest.mark.parametrize("case", DIRECTORY_CASES, ids=[case[0] for case in DIRECTORY_CASES])
def test_directory_names(case: tuple) -> None:
    doc = _case_doc(case)
    assert validate_document(doc) == []  # names are only checked against a directory
    _assert_reported(validate_document(doc, directory=Catalog()), case[2], case[3])


def test_invalid_cases_are_distinct() -> None:
    docs = [json.dumps(_case_doc(case), sort_keys=True) for case in INVALID]
    assert len(set(docs)) == len(docs) >= 30


def test_all_problems_are_reported_in_document_order() -> None:
    doc = mutated(
        [
            S("typo", 1),
            S("transitions[0].to", "nope"),
            S("fields[2].min", 500),
            S("nodes[1].approval.return_to", "route"),
        ]
    )
    problems = validate_document(doc)
    assert [p.path for p in problems] == [
        "(document)",
        "fields[2].min",
        "nodes[1].approval.return_to",
        "transitions[0].to",
    ]


def test_schema_errors_do_not_cascade_into_rule_noise() -> None:
    problems = validate_document(mutated([S("nodes[4].type", "tsk")]))
    assert [str(p) for p in problems] == [
        "nodes[4].type: must be one of: start, task, approval, timer, automation, exclusive, "
        "parallel_split, parallel_join, end (did you mean 'task'?)"
    ]


def test_one_of_reports_the_meant_alternative_only() -> None:
    problems = validate_document(
        mutated(
            [S("transitions[2].when", {"field": "risk", "op": "eq", "value": "high", "typo": 1})]
        )
    )
    assert [str(p) for p in problems] == ["transitions[2].when: 'typo' is not an allowed key here"]


def test_problem_prints_as_path_and_message() -> None:
    assert str(Problem("nodes[3].approval", "'quorum' is required")) == (
        "nodes[3].approval: 'quorum' is required"
    )
    assert format_path(()) == "(document)"
    assert format_path(("nodes", 3, "approval", "return_to")) == "nodes[3].approval.return_to"


def test_not_a_mapping() -> None:
    assert validate_document([1, 2]) == [
        Problem("(document)", "must be a mapping (key: value pairs)")
    ]


# --- the schema ----------------------------------------------------------------------------------


def test_schema_is_a_valid_json_schema() -> None:
    Draft202012Validator.check_schema(workflow_schema())
    assert workflow_schema()["$id"].endswith("workflow.schema.json")


def test_schema_agrees_with_the_engine() -> None:
    defs = workflow_schema()["$defs"]
    assert set(defs["field"]["properties"]["type"]["enum"]) == FIELD_TYPES
    assert set(defs["fieldCondition"]["properties"]["op"]["enum"]) == OPERATORS
    assert set(defs["node"]["properties"]["type"]["enum"]) == NODE_TYPES


def test_docs_link_to_the_schema() -> None:
    published = ROOT / "docs" / "workflow.schema.json"
    assert published.is_symlink()
    assert os.readlink(published) == "../flowdesk/engine/workflow.schema.json"
    assert published.resolve() == SCHEMA_PATH.resolve()


# --- reading and writing -------------------------------------------------------------------------


def _load_error(text: str, filename: str = "") -> list[Problem]:
    with pytest.raises(DocumentError) as caught:
        load_document(text, filename=filename)
    return caught.value.problems


def test_yaml_syntax_error_has_line_and_column() -> None:
    problems = _load_error("key: x\nname: [a, b\ntype: change\n")
    assert len(problems) == 1 and problems[0].path.startswith("line ")
    assert "column" in problems[0].message


def test_yaml_error_line_number() -> None:
    [problem] = _load_error("key: x\nname: y\nnodes:\n  - id: a\n   type: start\n")
    assert problem.path == "line 5"


def test_yaml_tab_hint() -> None:
    [problem] = _load_error("key: x\nnodes:\n\t- id: a\n")
    assert problem.path == "line 3" and "tabs" in problem.message


def test_json_syntax_error_is_json_style() -> None:
    [problem] = _load_error('{\n  "key": "x",\n  "name": "y"\n  "type": "change"\n}\n', "w.json")
    assert problem.path == "line 4"
    assert problem.message == "Expecting ',' delimiter (column 3)"


def test_json_detected_by_content() -> None:
    [problem] = _load_error('{"key": "x",\n "name": "y" "type": "change"}')
    assert problem.path == "line 2" and "Expecting ',' delimiter" in problem.message
    # JSON is YAML: what reads as YAML is accepted (and then validated)
    assert load_document('{"key": "x", "name": }') == {"key": "x", "name": None}


def test_yaml_flow_mapping_is_not_mistaken_for_json() -> None:
    assert load_document("{key: x, name: y}") == {"key": "x", "name": "y"}


def test_duplicate_keys_are_errors() -> None:
    [problem] = _load_error("key: x\nname: y\nkey: z\n")
    assert problem.path == "line 3" and "'key' appears twice" in problem.message
    [problem] = _load_error('{"key": "x",\n "key": "y"}', "w.json")
    assert problem.path == "line 2" and "'key' appears twice" in problem.message


def test_top_level_must_be_a_mapping() -> None:
    [problem] = _load_error("- a\n- b\n")
    assert problem.path == "(document)" and "not a list" in problem.message
    [problem] = _load_error("")
    assert problem == Problem("(document)", "the document is empty")
    [problem] = _load_error("[1, 2]", "w.json")
    assert "must be a mapping" in problem.message


def test_json_has_no_nan() -> None:
    [problem] = _load_error('{"key": NaN}', "w.json")
    assert problem.path == "line 1" and "NaN is not a JSON value" in problem.message


def test_recursive_anchor_is_refused() -> None:
    [problem] = _load_error("key: &a [*a]\n")
    assert problem.path == "(document)" and "nested more than" in problem.message


def test_yaml_reads_values_as_json_does() -> None:
    doc = load_document("a: yes\nb: 2026-01-31\nc: 12:30\nd: 0o17\ne: 010\nf: true\ng: ~\nh: 1.5\n")
    assert doc == {
        "a": "yes",
        "b": "2026-01-31",
        "c": "12:30",
        "d": 15,
        "e": 10,
        "f": True,
        "g": None,
        "h": 1.5,
    }


def test_yaml_and_json_validate_the_same() -> None:
    for doc in (example(), *(_case_doc(case) for case in INVALID[::7])):
        as_yaml = load_document(dump_document(doc, "yaml"), filename="w.yaml")
        as_json = load_document(dump_document(doc, "json"), filename="w.json")
        assert as_yaml == as_json == doc
        assert validate_document(as_yaml) == validate_document(as_json) == validate_document(doc)


def test_dump_is_readable_yaml() -> None:
    text = dump_document(example(), "yaml")
    assert text.startswith("key: app-release\nname: {en: Application release, zh: 应用发布}\n")
    assert "\nnodes:\n  - id: submit\n    type: start\n" in text
    assert "  - {from: submit, to: verify_package}\n" in text
    assert "\n\ntransitions:\n" in text


def test_dump_json() -> None:
    text = dump_document(example(), "json")
    assert json.loads(text) == example()
    assert "应用发布" in text and text.endswith("}\n")


def test_dump_quotes_what_would_change_type() -> None:
    doc = {
        "a": "yes",
        "b": "0o17",
        "c": "2026-01-31",
        "d": "12:30",
        "e": "null",
        "f": "1e3",
        "g": "line one\nline two\n",
        "h": "Test passed?",
        "i": "",
    }
    assert load_document(dump_document(doc)) == doc


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=25,
)


@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=6))
def test_dump_and_load_round_trip(doc: dict) -> None:
    assert load_document(dump_document(doc, "yaml")) == doc
    assert load_document(dump_document(doc, "json"), filename="x.json") == doc


# --- robustness ----------------------------------------------------------------------------------

GARBAGE = st.recursive(
    JSON_SCALARS
    | st.sampled_from(
        [
            "start",
            "task",
            "approval",
            "exclusive",
            "parallel_split",
            "parallel_join",
            "end",
            "submit",
            "risk",
            "eq",
            "in",
            "timer",
            "automation",
            "http",
            "checksum",
            "return",
            "4h",
            "0s",
            "{{ values.risk }}",
        ]
    ),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "key",
                    "type",
                    "id",
                    "from",
                    "to",
                    "when",
                    "field",
                    "op",
                    "value",
                    "nodes",
                    "fields",
                    "options",
                    "approval",
                    "return_to",
                    "on_reject",
                    "all",
                    "not",
                    "default",
                    "sla",
                    "notify",
                    "timer",
                    "automation",
                    "action",
                    "request",
                    "url",
                    "on_failure",
                    "until_field",
                ]
            )
            | st.text(max_size=5),
            inner,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(GARBAGE)
def test_garbage_never_crashes(doc: object) -> None:
    problems = validate_document(doc)
    assert isinstance(problems, list) and all(isinstance(p, Problem) for p in problems)


@functools.cache
def _originals() -> tuple[dict, ...]:
    return example(), *map(base, BASES)


def _paths(value: object, here: tuple = ()) -> list[tuple]:
    found = [here]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*here, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*here, i))
    return found


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_damaged_documents_never_crash(data: st.DataObject) -> None:
    """Replace or drop parts of real documents: every rule must cope with what is left."""
    doc = copy.deepcopy(data.draw(st.sampled_from(_originals())))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(doc)[1:]))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        if data.draw(st.booleans()):
            parent[path[-1]] = data.draw(GARBAGE)
        elif isinstance(parent, dict):
            del parent[path[-1]]
    problems = validate_document(doc, directory=Catalog())
    assert all(isinstance(p, Problem) for p in problems)
    if not problems:
        Definition.from_document(doc)  # what validates can be run
