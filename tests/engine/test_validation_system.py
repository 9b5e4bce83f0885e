"""Validation of system steps (timer, automation) and of SLA, notification and timer options:
each invalid document gives exactly this problem, at exactly this path."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowdesk.engine import (
    AUTOMATION_ACTIONS,
    HTTP_METHODS,
    NOTIFY_CHANNELS,
    NOTIFY_EVENTS,
    SECRET_NAME,
    Definition,
    parse_duration,
)
from flowdesk.engine.validation import Problem, validate_document, workflow_schema

from .test_validation import A, Catalog, D, S, go, mutated

AUTO = "nodes[4].automation"  # the HTTP call that polls
CHECK = "nodes[1].automation"  # the checksum check that returns to submit
DURATION = "must be a duration such as 30s, 90m, 4h, 2d or 1h30m (units d, h, m, s in that order)"
ONE_COMPARISON = "compare with exactly one of eq, ne or in"

# (id, edits, path, message): the document gives this problem (among others, for a few)
INVALID = [
    # --- SLA ------------------------------------------------------------------------------------
    ("sla-on-start", [S("nodes[0].sla", {"due": "1h"})], "nodes[0].sla",
     "'sla' is only used on task, approval and automation nodes"),
    ("sla-on-timer", [S("nodes[3].sla", {"due": "1h"})], "nodes[3].sla",
     "'sla' is only used on task, approval and automation nodes"),
    ("sla-needs-due", [D("nodes[2].sla.due")], "nodes[2].sla", "'due' is required"),
    ("sla-warn-at", [S("nodes[2].sla.warn_at", 100)], "nodes[2].sla.warn_at",
     "must be at most 99"),
    ("sla-reassign-needs-escalation", [D("nodes[2].sla.escalate_to")], "nodes[2].sla",
     "'escalate_to' is required"),
    ("sla-unknown-key", [S("nodes[2].sla.warn", 50)], "nodes[2].sla",
     "'warn' is not an allowed key here (did you mean 'warn_at'?)"),
    ("duration-words", [S("nodes[2].sla.due", "4 hours")], "nodes[2].sla.due", DURATION),
    ("duration-number", [S("nodes[2].sla.due", 4)], "nodes[2].sla.due", DURATION),
    ("duration-order", [S("nodes[2].sla.due", "30m1h")], "nodes[2].sla.due", DURATION),
    ("duration-zero", [S("nodes[2].sla.due", "0h")], "nodes[2].sla.due",
     "'0h' is no time at all: a duration must be at least 1s"),
    ("duration-too-long", [S("nodes[2].sla.due", "3651d")], "nodes[2].sla.due",
     "'3651d' is too long: a duration is at most 3650d (ten years)"),
    ("calendar-key", [S("nodes[2].sla.calendar", "Work days")], "nodes[2].sla.calendar",
     "Use the key of a work calendar: lower-case letters, digits, _ and - (starting with a "
     "letter)."),
    ("escalate-to-empty", [S("nodes[2].sla.escalate_to", [])], "nodes[2].sla.escalate_to",
     "must not be empty"),
    ("escalate-to-shape", [S("nodes[2].sla.escalate_to", [{"type": "users"}])],
     "nodes[2].sla.escalate_to[0]", "'users' is required"),
    ("escalate-to-field", [S("nodes[2].sla.escalate_to[0].field", "job_id")],
     "nodes[2].sla.escalate_to[0].field",
     "'job_id' is a string field; an operator's field must be of type member or members"),
    ("escalate-to-system-handler",
     [S("nodes[2].sla.escalate_to", [{"type": "node_handler", "node": "verify"}])],
     "nodes[2].sla.escalate_to[0].node",
     "'verify' is an automation node; node_handler names a human node (start, task or "
     "approval)"),
    # --- notify -----------------------------------------------------------------------------------
    ("notify-channel", [S("settings.notify", ["email", "sms"])], "settings.notify[1]",
     "must be one of: email, chat"),
    ("notify-channel-twice", [S("settings.notify", ["email", "email"])], "settings.notify",
     'lists "email" more than once'),
    ("notify-not-a-strategy", [S("settings.notify", "email")], "settings.notify",
     "must be a list of channels, e.g. [email], or {channels, events, remind_every}"),
    ("notify-event", [S("settings.notify.events", ["task_open"])], "settings.notify.events[0]",
     "must be one of: " + ", ".join(NOTIFY_EVENTS) + " (did you mean 'task_opened'?)"),
    ("notify-remind-zero", [S("settings.notify.remind_every", "0m")],
     "settings.notify.remind_every", "'0m' is no time at all: a duration must be at least 1s"),
    ("notify-unknown-key", [S("nodes[2].notify.remind", "1h")], "nodes[2].notify",
     "'remind' is not an allowed key here (did you mean 'remind_every'?)"),
    ("notify-node-list-form", [S("nodes[2].notify", ["email"])], "nodes[2].notify",
     "must be a mapping (key: value pairs)"),
    ("notify-on-end", [S("nodes[6].notify", {"channels": ["chat"]})], "nodes[6].notify",
     "'notify' is only used on start, task, approval, timer and automation nodes"),
    ("notify-node-ticket-event", [S("nodes[2].notify.events", ["reminder", "finished"])],
     "nodes[2].notify.events[1]",
     "'finished' is about the whole ticket, not a step; choose it in settings.notify"),
    # --- timer ------------------------------------------------------------------------------------
    ("timer-required", [D("nodes[3].timer")], "nodes[3]", "'timer' is required"),
    ("timer-needs-name", [D("nodes[3].name")], "nodes[3]", "'name' is required"),
    ("timer-both", [S("nodes[3].timer.after", "1h")], "nodes[3].timer",
     "give either until_field (a datetime field) or after (a duration), not both"),
    ("timer-neither", [S("nodes[3].timer", {})], "nodes[3].timer",
     "give either until_field (a datetime field) or after (a duration), not both"),
    ("timer-calendar-with-field", [S("nodes[3].timer.calendar", "workdays")],
     "nodes[3].timer.calendar", "'calendar' is only used with after"),
    ("timer-after-zero", [S("nodes[5].timer.after", "0s")], "nodes[5].timer.after",
     "'0s' is no time at all: a duration must be at least 1s"),
    ("timer-on-task", [S("nodes[2].timer", {"after": "1h"})], "nodes[2].timer",
     "'timer' is only used on timer nodes"),
    ("timer-field-unknown", [S("nodes[3].timer.until_field", "planned")],
     "nodes[3].timer.until_field", "no field has the key 'planned' (did you mean 'planned_at'?)"),
    ("timer-field-not-datetime", [S("nodes[3].timer.until_field", "job_id")],
     "nodes[3].timer.until_field", "'job_id' is a string field; until_field names a datetime "
     "field"),
    ("timer-claims", [S("nodes[3].claim", True)], "nodes[3].claim",
     "only task and approval nodes take this key"),
    ("timer-on-unassigned", [S("nodes[3].on_unassigned", "skip")], "nodes[3].on_unassigned",
     "only task and approval nodes take this key"),
    ("timer-separate-from", [S("nodes[3].separate_from", ["review"])], "nodes[3].separate_from",
     "only start, task and approval nodes take separate_from"),
    ("timer-approval", [S("nodes[3].approval", {})], "nodes[3].approval",
     "'approval' is only used on approval nodes"),
    ("timer-two-ways-out", [A("transitions", go("wait", "done"))], "nodes[3]",
     "a timer node has exactly one outgoing transition, but 2 leave it (to 'deploy', 'done'); "
     "choose a path with an exclusive gateway or take several with a parallel_split"),
    ("timer-kept-apart", [S("nodes[2].separate_from", ["wait"])], "nodes[2].separate_from[0]",
     "'wait' is a timer node; separation of duties names human nodes (start, task or approval)"),
    # --- automation: shape ------------------------------------------------------------------------
    ("automation-required", [D(AUTO)], "nodes[4]", "'automation' is required"),
    ("automation-on-task", [S("nodes[2].automation", {"action": "checksum"})],
     "nodes[2].automation", "'automation' is only used on automation nodes"),
    ("automation-action", [S(f"{AUTO}.action", "shell")], f"{AUTO}.action",
     "must be one of: http, checksum"),
    ("http-needs-request", [S(f"{CHECK}.action", "http")], CHECK, "'request' is required"),
    ("request-on-checksum", [S(f"{CHECK}.request", {"url": "https://x.example"})],
     f"{CHECK}.request", "'request' is only used with action: http"),
    ("checksum-on-http", [S(f"{AUTO}.checksum", {"url_field": "package_url",
                                                  "md5_field": "package_md5"})],
     f"{AUTO}.checksum", "'checksum' is only used with action: checksum"),
    ("wait-on-checksum", [S(f"{CHECK}.wait", "none")], f"{CHECK}.wait",
     "'wait' is only used with action: http"),
    ("outputs-on-checksum", [S(f"{CHECK}.outputs", {"job_id": "id"})], f"{CHECK}.outputs",
     "'outputs' is only used with action: http"),
    ("method", [S(f"{AUTO}.request.method", "post")], f"{AUTO}.request.method",
     "must be one of: " + ", ".join(HTTP_METHODS)),
    ("get-with-body", [S(f"{AUTO}.request.method", "GET")], f"{AUTO}.request.body",
     "a GET request sends no body"),
    ("request-needs-url", [D(f"{AUTO}.request.url")], f"{AUTO}.request", "'url' is required"),
    ("header-name", [S(f"{AUTO}.request.headers", {"X Token": "a"})],
     f"{AUTO}.request.headers", "header names are letters, digits and - (e.g. X-Request-Id)"),
    ("header-value", [S(f"{AUTO}.request.headers.Authorization", 5)],
     f"{AUTO}.request.headers.Authorization", "must be a string (put the value in quotes)"),
    ("request-timeout", [S(f"{AUTO}.request.timeout", "30")], f"{AUTO}.request.timeout",
     DURATION),
    ("retries", [S(f"{AUTO}.retries", 11)], f"{AUTO}.retries", "must be at most 10"),
    ("poll-required", [D(f"{AUTO}.poll")], AUTO, "'poll' is required"),
    ("poll-without-wait", [S(f"{AUTO}.wait", "none")], f"{AUTO}.poll",
     "'poll' is only used with wait: poll"),
    ("callback-required", [S(f"{AUTO}.wait", "callback"), D(f"{AUTO}.poll")], AUTO,
     "'callback' is required"),
    ("callback-without-wait", [S(f"{AUTO}.callback", {"secret": "CI_HOOK", "timeout": "1h"})],
     f"{AUTO}.callback", "'callback' is only used with wait: callback"),
    ("callback-needs-secret",
     [S(f"{AUTO}.wait", "callback"), D(f"{AUTO}.poll"), S(f"{AUTO}.callback", {"timeout": "1h"})],
     f"{AUTO}.callback", "'secret' is required"),
    ("callback-secret-value",
     [S(f"{AUTO}.wait", "callback"), D(f"{AUTO}.poll"),
      S(f"{AUTO}.callback", {"secret": "s3cr3t-value", "timeout": "1h"})],
     f"{AUTO}.callback.secret", "name a server-side secret in capitals, digits and _ (e.g. "
     "DEPLOY_TOKEN); never write the secret itself in a workflow"),
    ("poll-needs-success", [D(f"{AUTO}.poll.success")], f"{AUTO}.poll", "'success' is required"),
    ("poll-interval", [S(f"{AUTO}.poll.interval", "2h")], f"{AUTO}.poll.interval",
     "is not shorter than the timeout (2h); poll more often"),
    ("condition-two-comparisons", [S(f"{AUTO}.poll.success.ne", "running")],
     f"{AUTO}.poll.success", ONE_COMPARISON),
    ("condition-no-comparison", [D(f"{AUTO}.poll.success.eq")], f"{AUTO}.poll.success",
     ONE_COMPARISON),
    ("condition-in-list", [S(f"{AUTO}.poll.failure.in", "failed")], f"{AUTO}.poll.failure.in",
     "in compares with a list of values, e.g. [failed, error]"),
    ("condition-path", [S(f"{AUTO}.poll.success.path", "data..status")],
     f"{AUTO}.poll.success.path",
     "write a path of keys separated by dots, e.g. data.status (digits index lists)"),
    ("condition-unknown-key", [S(f"{AUTO}.poll.success", {"path": "status", "equals": "x"})],
     f"{AUTO}.poll.success", "'equals' is not an allowed key here"),
    # --- automation: references -------------------------------------------------------------------
    ("output-not-on-node", [S("nodes[4].fields", [])], f"{AUTO}.outputs.job_id",
     "field 'job_id' is not among this node's fields; list it there to store the response in "
     "it"),
    ("output-unknown-field", [S(f"{AUTO}.outputs", {"jobid": "id"})], f"{AUTO}.outputs.jobid",
     "no field has the key 'jobid' (did you mean 'job_id'?)"),
    ("output-path", [S(f"{AUTO}.outputs.job_id", "")], f"{AUTO}.outputs.job_id",
     "write a path of keys separated by dots, e.g. data.status (digits index lists)"),
    ("template-unknown-field", [S(f"{AUTO}.request.body.package", "{{ values.pkg_url }}")],
     f"{AUTO}.request.body.package",
     "reads values.pkg_url, but no field has the key 'pkg_url' (did you mean 'package_url'?)"),
    ("template-in-a-list", [S(f"{AUTO}.request.body.tags", ["{{ values['nope'] }}"])],
     f"{AUTO}.request.body.tags[0]", "reads values.nope, but no field has the key 'nope'"),
    ("template-in-url", [S(f"{AUTO}.request.url", "https://x.example/{{ values.jobid }}")],
     f"{AUTO}.request.url",
     "reads values.jobid, but no field has the key 'jobid' (did you mean 'job_id'?)"),
    ("template-in-poll-url", [S(f"{AUTO}.poll.url", "https://x/{% if values.x %}1{% endif %}")],
     f"{AUTO}.poll.url", "reads values.x, but no field has the key 'x'"),
    ("template-secret-name",
     [S(f"{AUTO}.request.headers.Authorization", "Bearer {{ secrets.token }}")],
     f"{AUTO}.request.headers.Authorization",
     "reads secrets.token; a secret's name is in capitals, digits and _ (e.g. DEPLOY_TOKEN)"),
    ("checksum-needs-a-digest", [D(f"{CHECK}.checksum.md5_field")], f"{CHECK}.checksum",
     "name md5_field, sha256_field or both: the digests to compare with"),
    ("checksum-url-field", [S(f"{CHECK}.checksum.url_field", "planned_at")],
     f"{CHECK}.checksum.url_field",
     "'planned_at' is a datetime field; url_field names a url or string field"),
    ("checksum-algorithm", [S(f"{CHECK}.checksum.sha256_field", "package_md5")],
     f"{CHECK}.checksum.sha256_field",
     "'package_md5' is a checksum field with algorithm md5; sha256_field names a sha256 "
     "checksum field or a string field"),
    ("checksum-unknown-field", [S(f"{CHECK}.checksum.md5_field", "md5")],
     f"{CHECK}.checksum.md5_field", "no field has the key 'md5'"),
    # --- automation: going back -------------------------------------------------------------------
    ("return-to-required", [D(f"{CHECK}.return_to")], CHECK, "'return_to' is required"),
    ("return-to-without-return", [S(f"{AUTO}.return_to", "submit")], f"{AUTO}.return_to",
     "'return_to' is only used with on_failure: return"),
    ("return-to-system-node", [S(f"{CHECK}.return_to", "verify")], f"{CHECK}.return_to",
     "'verify' is an automation node; return_to names a start, task or approval node"),
    ("return-to-later", [S(f"{CHECK}.return_to", "review")], f"{CHECK}.return_to",
     "'review' never comes before this node, so the ticket cannot go back there"),
    ("return-to-unknown", [S(f"{CHECK}.return_to", "sbumit")], f"{CHECK}.return_to",
     "no node has the id 'sbumit' (did you mean 'submit'?)"),
    ("return-into-a-sibling-branch",
     [S("nodes[3]", {"id": "b", "type": "automation", "name": "B",
                     "automation": {"action": "http", "request": {"url": "https://x.example"},
                                    "on_failure": "return", "return_to": "a"}})],
     "nodes[3].automation.return_to",
     "'a' lies in another branch of the parallel block that 'split' opens; a return can go back "
     "within its branch or out of the block", "block"),
]  # fmt: skip

DIRECTORY_CASES = [
    ("sla-calendar-unknown", [S("nodes[2].sla.calendar", "workday")], "nodes[2].sla.calendar",
     "work calendar 'workday' does not exist (did you mean 'workdays'?)"),
    ("timer-calendar-unknown", [S("nodes[5].timer.calendar", "shanghi")],
     "nodes[5].timer.calendar", "work calendar 'shanghi' does not exist (did you mean "
     "'shanghai'?)"),
    ("template-secret-unknown",
     [S(f"{AUTO}.request.headers.Authorization", "Bearer {{ secrets.DEPLOY_TOKN }}")],
     f"{AUTO}.request.headers.Authorization",
     "the server has no secret 'DEPLOY_TOKN' (did you mean 'DEPLOY_TOKEN'?)"),
    ("callback-secret-unknown",
     [S(f"{AUTO}.wait", "callback"), D(f"{AUTO}.poll"),
      S(f"{AUTO}.callback", {"secret": "CI_HOOKS", "timeout": "1h"})],
     f"{AUTO}.callback.secret", "the server has no secret 'CI_HOOKS' (did you mean 'CI_HOOK'?)"),
]  # fmt: skip


def _doc(case: tuple) -> dict:
    return mutated(case[1], case[4] if len(case) > 4 else "system")


@pytest.mark.parametrize("case", INVALID, ids=[case[0] for case in INVALID])
def test_invalid_system_documents(case: tuple) -> None:
    problems = validate_document(_doc(case))
    assert Problem(case[2], case[3]) in problems, "\n".join(map(str, problems))


@pytest.mark.parametrize("case", DIRECTORY_CASES, ids=[case[0] for case in DIRECTORY_CASES])
def test_calendars_and_secrets_against_the_server(case: tuple) -> None:
    doc = _doc(case)
    assert validate_document(doc) == []  # names are only checked against a directory
    assert validate_document(doc, directory=Catalog()) == [Problem(case[2], case[3])]


def test_a_directory_without_calendars_or_secrets_checks_neither() -> None:
    class RolesOnly:
        def business_roles(self) -> set[str]:
            return set()

        def general_roles(self) -> set[str]:
            return {"dev"}

        def users(self) -> set[str] | None:
            return None

    doc = mutated([S("nodes[2].sla.calendar", "nowhere")], "system")
    assert validate_document(doc, directory=RolesOnly()) == []


def test_each_case_gives_one_problem() -> None:
    """No cascades: a case gives its one problem, but where two things are wrong at once."""
    docs = [str(_doc(case)) for case in INVALID]
    assert len(set(docs)) == len(docs)
    crowded = {case[0] for case in INVALID if len(validate_document(_doc(case))) > 1}
    assert crowded == {
        "automation-on-task",  # and its action: checksum has no checksum
        "http-needs-request",  # and the checksum key is left over
        "return-into-a-sibling-branch",  # and so 'a' never comes before it
    }


VALID_VARIANTS = {
    "callback": [
        S(f"{AUTO}.wait", "callback"),
        D(f"{AUTO}.poll"),
        S(f"{AUTO}.callback", {"secret": "CI_HOOK", "timeout": "2h"}),
    ],
    "sha256-and-string-digests": [
        A("fields", {"key": "sha", "type": "checksum", "algorithm": "sha256", "label": "SHA"},
          {"key": "raw", "type": "string", "label": "Raw"}),
        S(f"{CHECK}.checksum", {"url_field": "job_id", "md5_field": "raw", "sha256_field": "sha"}),
    ],
    "notify-old-form": [S("settings.notify", ["chat"]), D("nodes[2].notify")],
    "approval-with-sla": [
        S("nodes[2]", {"id": "review", "type": "approval", "name": "Review",
                       "operators": [{"type": "users", "users": ["alice"]}],
                       "sla": {"due": "1d", "warn_at": 0}}),
    ],
    "operators-step-in": [S("nodes[3].operators", [{"type": "node_handler", "node": "review"}])],
    "automation-returns-within-branch": [
        S("nodes[3]", {"id": "b", "type": "automation", "name": "B",
                       "automation": {"action": "http", "request": {"url": "https://x.example"},
                                      "on_failure": "return", "return_to": "s"}})],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(VALID_VARIANTS))
def test_valid_system_variants(name: str) -> None:
    doc = mutated(VALID_VARIANTS[name], "block" if "branch" in name else "system")
    assert validate_document(doc, directory=Catalog()) == []
    Definition.from_document(doc)


def test_schema_agrees_with_the_engine() -> None:
    defs = workflow_schema()["$defs"]
    assert tuple(defs["notifyChannel"]["enum"]) == NOTIFY_CHANNELS
    assert tuple(defs["notify"]["properties"]["events"]["items"]["enum"]) == NOTIFY_EVENTS
    assert tuple(defs["httpRequest"]["properties"]["method"]["enum"]) == HTTP_METHODS
    assert tuple(defs["automation"]["properties"]["action"]["enum"]) == AUTOMATION_ACTIONS
    assert defs["secretName"]["pattern"] == f"^{SECRET_NAME.pattern}$"


@given(st.from_regex(workflow_schema()["$defs"]["duration"]["pattern"], fullmatch=True))
def test_what_the_schema_lets_through_the_engine_reads_or_explains(text: str) -> None:
    if not 2 <= len(text) <= 24:
        return  # the schema's length limits
    try:
        assert parse_duration(text) >= 1
    except ValueError as error:
        assert "no time at all" in str(error) or "too long" in str(error)
