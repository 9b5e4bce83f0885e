"""Timer and automation nodes, the system's steps: they wait as open tasks, never fail or get
skipped for lack of operators, are completed by the system (or by hand), and an automation's
failure waits for its operators or goes back. Also their parsed options and the helpers the
caller runs an automation with."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from flowdesk import engine
from flowdesk.engine import (
    SYSTEM_ACTOR,
    AutomationFailed,
    DefinitionError,
    InvalidValues,
    NodeCompleted,
    NotAllowed,
    Notify,
    NotRunning,
    ResponseCondition,
    Returned,
    TaskClosed,
    TaskOpened,
    barred,
    can_withdraw,
    response_value,
    return_targets,
    template_names,
)

from .conftest import (
    END,
    START,
    Ticket,
    automation,
    chain,
    gateway,
    make_ctx,
    task,
    timer,
    users,
    workflow,
)
from .test_validation import base

FIELDS = [
    {"key": "job_id", "type": "string", "label": "Job", "required": True},
    {"key": "runs", "type": "integer", "label": "Runs"},
]
HTTP = {"action": "http", "request": {"url": "https://ci.example/deploy"}}


def release(*deploy_ops: dict, on_failure: str = "wait", settings: dict | None = None, **timer_):
    """submit → check (ann) → deploy (automation) → wait (timer) → done"""
    options = dict(HTTP, on_failure=on_failure)
    if on_failure == "return":
        options["return_to"] = "check"
    return workflow(
        [START, task("check", users("ann")),
         automation("deploy", *deploy_ops, fields=("job_id", "runs"), **options),
         timer("wait", **timer_), END],
        chain("submit", "check", "deploy", "wait", "done"),
        FIELDS,
        settings=settings,
    )  # fmt: skip


def at_deploy(defn, directory, **ctx: Any) -> Ticket:
    ticket = Ticket(defn, make_ctx(directory, **ctx))
    ticket.start()
    ticket.complete("check", "ann")
    return ticket


def by_system(ticket: Ticket, node: str, **values: Any):
    return ticket.do("complete", node=node, actor=SYSTEM_ACTOR, values=values)


# --- activation ------------------------------------------------------------------------------


def test_a_system_step_waits_as_a_pool_task_for_its_operators(directory):
    ticket = at_deploy(release(users("ben"), {"type": "general_role", "role": "QC"}), directory)
    [opened] = ticket.of(TaskOpened)
    assert opened == TaskOpened(
        2, "deploy", None, ("ben", "qc_c"), ({"type": "general_role", "role": "QC"},), False
    )
    assert ticket.nodes == ["deploy"]
    assert "deploy" in ticket.state["visited"]


@pytest.mark.parametrize("policy", ["fail", "skip", "service_owner"])
def test_nobody_to_step_in_is_fine_whatever_the_policy(directory, policy):
    """A system step is never refused (NoOperator) nor skipped: the system does it."""
    nobody = {"type": "general_role", "role": "nobody"}
    defn = release(nobody, settings={"on_unassigned": policy})
    ticket = at_deploy(defn, directory)
    assert ticket.nodes == ["deploy"] and ticket.tasks[2]["candidates"] == []
    owned = at_deploy(defn, directory, service_owners=("owner_olga",))
    assert owned.tasks[2]["candidates"] == ["owner_olga"] and owned.tasks[2]["sources"] == []


# --- completing ------------------------------------------------------------------------------


def test_the_system_completes_it_with_values_checked_but_none_required(directory):
    ticket = at_deploy(release(), directory)
    by_system(ticket, "deploy", runs="3")
    assert ticket.of(NodeCompleted) == [
        NodeCompleted("deploy", SYSTEM_ACTOR, {"runs": 3}, {"runs": [None, 3]})
    ]
    assert ticket.of(TaskClosed) == [TaskClosed(2, "deploy", "completed", SYSTEM_ACTOR)]
    assert ticket.nodes == ["wait"]  # job_id is required, but not of the system
    by_system(ticket, "wait")
    assert ticket.state["status"] == "finished"


def test_system_values_are_still_checked(directory):
    ticket = at_deploy(release(), directory)
    with pytest.raises(InvalidValues) as error:
        by_system(ticket, "deploy", runs="many", nope=1)
    assert error.value.errors == {
        "nope": ["This step has no field 'nope'."],
        "runs": ["Enter a whole number."],
    }


def test_system_completions_do_not_count_as_handling(directory):
    """The requester may still withdraw (before_first_action) after the system's steps."""
    defn = workflow(
        [START, automation("deploy", users("ann")), timer("wait", users("ann")), task("t"), END],
        chain("submit", "deploy", "wait", "t", "done"),
    )
    ticket = Ticket(defn, make_ctx(directory))
    ticket.start()
    by_system(ticket, "deploy")
    assert ticket.state["acted"] is False and can_withdraw(
        defn, ticket.state, ticket.ctx, "pm_alice"
    )
    ticket.complete("wait", "ann")  # an operator steps in by hand: that is handling
    assert ticket.state["acted"] is True


def test_the_system_does_not_handle_peoples_steps(directory):
    ticket = Ticket(release(), make_ctx(directory))
    ticket.start()
    with pytest.raises(NotAllowed) as error:
        by_system(ticket, "check")
    assert str(error.value) == "Step 'Check' is handled by people, not by the system."
    with pytest.raises(NotAllowed):
        ticket.do("return_to", node="check", actor=SYSTEM_ACTOR, target="submit")


def test_separation_of_duties_does_not_apply_to_system_steps(directory):
    ticket = at_deploy(release(users("pm_alice")), directory)
    assert barred(ticket.defn, ticket.state, 2, "pm_alice", requester="pm_alice") is None


def test_returns_from_a_system_step_go_to_people_steps_only(directory):
    ticket = at_deploy(release(users("ann")), directory)
    by_system(ticket, "deploy")
    wait = ticket.task_at("wait")
    assert return_targets(ticket.defn, ticket.state, wait) == ["submit", "check"]
    ticket.do("return_to", task=wait, actor="ann", target="check")
    assert ticket.nodes == ["check"] and ticket.of(Returned) == [Returned("wait", "check", "ann")]


def test_system_steps_run_in_parallel_branches(directory):
    defn = workflow(
        [START, gateway("split", "parallel_split"), automation("build"), timer("soak"),
         task("review"), gateway("join", "parallel_join"), END],
        [*chain("submit", "split", "build", "soak", "join", "done"),
         *chain("split", "review", "join")],
    )  # fmt: skip
    ticket = Ticket(defn, make_ctx(directory))
    ticket.start()
    assert ticket.nodes == ["build", "review"]
    by_system(ticket, "build")
    ticket.complete("review", "ann")
    assert ticket.nodes == ["soak"]
    by_system(ticket, "soak")
    assert ticket.state["status"] == "finished"


# --- failing ---------------------------------------------------------------------------------


def fail(ticket: Ticket, node: str, reason: str = "HTTP 503 after 4 attempts"):
    return ticket.do("fail_automation", node=node, reason=reason)


def test_a_failure_waits_for_the_operators(directory):
    ticket = at_deploy(release(users("ann")), directory)
    before = ticket.state
    result = fail(ticket, "deploy")
    assert result.effects == [AutomationFailed(2, "deploy", "HTTP 503 after 4 attempts", "wait")]
    assert result.state == before  # the step stays open: retry, skip or complete by hand
    ticket.complete("deploy", "ann", job_id="J-7")
    assert ticket.nodes == ["wait"] and ticket.state["values"]["job_id"] == "J-7"


def test_a_failure_can_send_the_ticket_back(directory):
    ticket = at_deploy(release(on_failure="return"), directory)
    fail(ticket, "deploy", "checksum mismatch")
    assert ticket.kinds() == ["automation_failed", "task_closed", "returned", "task_opened"]
    assert ticket.of(TaskClosed) == [TaskClosed(2, "deploy", "returned", SYSTEM_ACTOR)]
    assert ticket.of(Returned) == [Returned("deploy", "check", SYSTEM_ACTOR)]
    assert ticket.nodes == ["check"]


def test_only_a_running_automation_step_can_fail(directory):
    ticket = at_deploy(release(), directory)
    by_system(ticket, "deploy")
    with pytest.raises(NotAllowed, match="Step 'Wait' is not an automation step."):
        fail(ticket, "wait")
    ticket.do("suspend", actor="ops")
    with pytest.raises(NotRunning):
        fail(ticket, "wait")
    people = Ticket(release(), make_ctx(directory))
    people.start()
    with pytest.raises(NotAllowed, match="handled by people"):
        fail(people, "check")


# --- parsed options --------------------------------------------------------------------------


def test_options_are_parsed():
    sla = {"due": "4h", "calendar": "workdays", "warn_at": 75, "reassign": True,
           "escalate_to": [{"type": "general_role", "role": "QC"}]}  # fmt: skip
    defn = workflow(
        [START, task("t", sla=sla, notify={"remind_every": "1h"}),
         timer("wait", until_field="when"), END],
        chain("submit", "t", "wait", "done"),
        [{"key": "when", "type": "datetime", "label": "When"}],
    )  # fmt: skip
    node = defn.node("t")
    assert node.sla == engine.Sla(14400, "workdays", 75, ({"type": "general_role", "role": "QC"},),
                                  True)  # fmt: skip
    assert defn.node("wait").timer == engine.Timer(until_field="when")
    assert defn.node("wait").system and not defn.node("wait").human and not node.system
    assert defn.notify_for("t").remind_every == 3600


@pytest.mark.parametrize(
    ("options", "node", "expected"),
    [
        (None, None, Notify()),
        ({"notify": ["chat"]}, None, Notify(channels=("chat",))),
        ({"notify": []}, {"events": ["reminder"]}, Notify(channels=(), events=("reminder",))),
        (
            {"notify": {"events": ["task_opened"], "remind_every": "1d"}},
            {"channels": ["email", "chat"]},
            Notify(("email", "chat"), ("task_opened",), 86400),
        ),
    ],
)
def test_a_nodes_notify_is_laid_over_the_workflows(options, node, expected):
    step = task("t", **({"notify": node} if node else {}))
    defn = workflow([START, step, END], chain("submit", "t", "done"), settings=options)
    assert defn.notify_for("t") == expected
    assert defn.notify_for(None) == defn.settings.notify


def test_definitions_with_options_pickle_for_caching():
    defn = engine.Definition.from_document(base("system"))
    again = pickle.loads(pickle.dumps(defn))
    assert again.nodes == defn.nodes and again.settings == defn.settings
    assert again.notify_for("review") == Notify(
        ("email", "chat"), ("task_opened", "reminder"), 3600
    )


def test_automation_is_parsed():
    options = {
        "action": "http",
        "request": {"method": "PUT", "url": "https://x/{{ ticket.serial }}",
                    "headers": {"Authorization": "Bearer {{ secrets.TOKEN }}"},
                    "body": {"md5": "{{ values.md5 }}"}, "timeout": "10s"},
        "retries": 0,
        "wait": "poll",
        "poll": {"url": "https://x/status", "interval": "1m", "timeout": "1h",
                 "success": {"path": "state", "eq": "done"},
                 "failure": {"path": "state", "in": ["failed", "lost"]}},
        "outputs": {"job_id": "data.id"},
        "on_failure": "return",
        "return_to": "submit",
    }  # fmt: skip
    defn = workflow([START, automation("go", **options), END], chain("submit", "go", "done"))
    assert defn.node("go").automation == engine.Automation(
        action="http",
        request=engine.HttpRequest(
            url="https://x/{{ ticket.serial }}",
            method="PUT",
            headers=(("Authorization", "Bearer {{ secrets.TOKEN }}"),),
            body={"md5": "{{ values.md5 }}"},
            timeout=10,
        ),
        retries=0,
        wait="poll",
        poll=engine.Poll(
            url="https://x/status",
            interval=60,
            timeout=3600,
            success=ResponseCondition("state", "eq", "done"),
            failure=ResponseCondition("state", "in", ("failed", "lost")),
        ),
        outputs=(("job_id", "data.id"),),
        on_failure="return",
        return_to="submit",
    )
    check = {"action": "checksum", "checksum": {"url_field": "u", "md5_field": "m"}}
    defn = workflow([START, automation("go", **check), END], chain("submit", "go", "done"))
    assert defn.node("go").automation == engine.Automation(
        action="checksum", checksum=engine.ChecksumCheck("u", "m")
    )


@pytest.mark.parametrize(
    ("node", "path", "message"),
    [
        ({"type": "timer", "id": "w"}, "nodes[1]", "this timer node needs 'timer'"),
        ({"type": "automation", "id": "w"}, "nodes[1]", "this automation node needs 'automation'"),
        (timer("w", after="0s"), "nodes[1].timer.after", "'0s' is no time at all"),
        (timer("w", after="1h", until_field="x"), "nodes[1].timer",
         "give either until_field or after"),
        (automation("w", action="ftp"), "nodes[1].automation", "needs action: http or checksum"),
        (automation("w", action="http"), "nodes[1].automation", "'request' is missing"),
        (automation("w", **HTTP, wait="poll"), "nodes[1].automation", "'poll' is missing"),
        (automation("w", **HTTP, wait="callback", callback={}), "nodes[1].automation",
         "cannot be read; validate the document"),
        (task("w", sla={"warn_at": 5}), "nodes[1].sla", "'due' is missing"),
        (task("w", sla=[]), "nodes[1].sla", "must be a mapping"),
        (task("w", notify={"remind_every": "often"}), "nodes[1].notify.remind_every",
         "'often' is not a duration"),
    ],
)  # fmt: skip
def test_unreadable_options_are_definition_errors(node, path, message):
    with pytest.raises(DefinitionError) as error:
        workflow([START, node, END], chain("submit", "w", "done"))
    assert error.value.path == path and message in error.value.detail


def test_escalation_operators_resolve_like_a_nodes(directory):
    escalate_to = [{"type": "requester_manager"}, {"type": "node_handler", "node": "check"}]
    defn = workflow(
        [START, task("check", users("ann")),
         task("fix", users("ben"), sla={"due": "1h", "escalate_to": escalate_to}), END],
        chain("submit", "check", "fix", "done"),
    )  # fmt: skip
    ticket = Ticket(defn, make_ctx(directory))
    ticket.start()
    ticket.complete("check", "ann")
    specs = defn.node("fix").sla.escalate_to
    found = engine.resolve_operator_specs(defn, specs, ticket.state, ticket.ctx)
    assert found.users == ["boss_bea", "ann"]


# --- helpers for running an automation --------------------------------------------------------


def test_template_names():
    text = (
        "{{ values.package_url }}?md5={{ values['package_md5'] | upper }}&x=values.not_me"
        "{% if values.flag and myvalues.no %}{{ secrets.DEPLOY_TOKEN }}{% endif %}"
        "{{ values.package_url }}{{ ticket.serial }}"
    )
    assert template_names(text, "values") == ["package_url", "package_md5", "flag"]
    assert template_names(text, "secrets") == ["DEPLOY_TOKEN"]
    assert template_names(text, "ticket") == ["serial"]
    assert template_names("no tags: values.x", "values") == []


RESPONSE = {"data": {"state": "done", "items": [{"id": 7}], "ok": True, "count": 1}}


def test_response_value():
    assert response_value(RESPONSE, "data.items.0.id") == 7
    assert response_value(RESPONSE, "data.state") == "done"
    with pytest.raises(LookupError) as error:
        response_value(RESPONSE, "data.items.3.id")
    assert str(error.value) == "The response has no 'data.items.3.id' (nothing at '3')."
    with pytest.raises(LookupError):
        response_value("plain text", "data")


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        (ResponseCondition("data.state", "eq", "done"), True),
        (ResponseCondition("data.state", "ne", "done"), False),
        (ResponseCondition("data.state", "in", ("failed", "done")), True),
        (ResponseCondition("data.missing", "ne", "done"), False),  # a missing path never holds
        (ResponseCondition("data.ok", "eq", 1), False),  # JSON: true is not 1
        (ResponseCondition("data.count", "eq", True), False),
        (ResponseCondition("data.count", "eq", 1.0), True),
        (ResponseCondition("data.ok", "in", (True,)), True),
    ],
)
def test_response_conditions(condition, holds):
    assert condition.holds(RESPONSE) is holds
