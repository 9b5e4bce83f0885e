"""4. A million tickets: fill PostgreSQL fast (COPY), then time the read queries of the pages
and the API at 10k, 100k and 1M tickets (`make bench` stops at 10k).

People and services are made through the real actions: 50 businesses, 2,000 users (per
business 20 product, 4 test, 4 ops, 12 without a role; 5 users in the general role QC), 20
services on the demo release workflow. Tickets are generated from engine runs: for each
(business, requester, stage) the pure engine runs the release process to that stage with the
same people, which gives a valid `state`; tickets copy it with their own times. 90% of tickets
are finished, 10% wait at one of the four steps. Rows follow what the service layer writes:
one task per step reached (closed ones with handler and no candidates; the open one with its
candidates and role source), participants (requester, handlers, candidates), history events.
The checksum step after the submit is completed by the system, as a worker does. Audit-log
entries and automation runs are not generated (no page timed here reads them).

Every query is timed server-side (the ORM evaluation, p50/p95 over sample users and tickets,
kinds interleaved), and every SQL statement it runs is EXPLAINed: a sequential scan of a
ticket table is flagged.

    .venv/bin/python -m bench.million [--full] [--keep] [--scales 10000,100000]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from tqdm import tqdm

from bench.common import (
    QC,
    RELEASE,
    STEPS,
    SUBMIT,
    TEST_PASS,
    bench_database,
    log,
    postgres_available,
    setup_django,
    skip,
    summary_ms,
    table,
    write_results,
)

NAME = "A million tickets"
BUSINESSES, SERVICES, QC_USERS = 50, 20, 5
PER_BUSINESS = {"product": 20, "test": 4, "ops": 4, "none": 12}  # 40 x 50 = 2,000 users
OPEN_SHARE = 0.10
STAGES = 5  # 0..3: waiting at test_confirm, coordinate, release, qc_review; 4: finished
PLACEHOLDER = "2000-01-01T00:00:00Z"
EPOCH = datetime(2025, 12, 1, tzinfo=UTC)
SPACING = timedelta(seconds=30)  # 1M tickets over ~11 months
BIG_TABLES = ("tickets_ticket", "tickets_task", "tickets_taskcandidate", "tickets_event",
              "tickets_ticketparticipant", "tickets_tasksource")  # fmt: skip
GOAL_MS, GROWTH_GOAL = 30.0, 2.0
SAMPLES = 40
NULL = "\\N"  # COPY text format


# --- people and services, through the actions ----------------------------------------------------


def load_directory() -> dict:
    from django.conf import settings

    from flowdesk.catalog.actions import do_save_service
    from flowdesk.demo.loader import load_demo
    from flowdesk.directory.actions import do_save_business, do_save_user, do_set_role_members
    from flowdesk.directory.models import Role
    from flowdesk.workflows.models import Workflow

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    load_demo("bench-password")
    roles = {r.key: r for r in Role.objects.all()}
    people: dict = {"businesses": [], "qc": []}
    for b in tqdm(range(BUSINESSES), desc="businesses and users", unit="business"):
        business, _ = do_save_business(f"biz-{b:02d}", name=f"Business {b}", actor=None)
        team: dict = {"business": business}
        for role, count in PER_BUSINESS.items():
            names = [f"{role}_{b:02d}_{i:02d}" for i in range(count)]
            users = [do_save_user(n, email=f"{n}@x.test", actor=None)[0] for n in names]
            if role != "none":
                do_set_role_members(roles[role], users, business=business, actor=None)
            team[role] = users
        people["businesses"].append(team)
    people["qc"] = people["businesses"][0]["none"][:QC_USERS]
    do_set_role_members(roles["QC"], people["qc"], actor=None)
    workflow = Workflow.objects.get(key="app-release")
    people["services"] = [
        do_save_service(f"release-{s:02d}", name=f"Release {s}", workflow=workflow, actor=None)
        for s in range(SERVICES)
    ]
    people["version"] = workflow.latest_version()
    people["roles"] = roles
    return people


# --- ticket templates from engine runs -----------------------------------------------------------


class TeamDirectory:
    """The engine's view of one business's people (the same as in the database)."""

    def __init__(self, team: dict, qc: list) -> None:
        names = {r: [u.username for u in team[r]] for r in ("product", "test", "ops")}
        self.roles, self.qc = names, [u.username for u in qc]

    def business_role_members(self, role: str, business: str) -> list[str]:
        return sorted(self.roles.get(role, []))

    def general_role_members(self, role: str) -> list[str]:
        return sorted(self.qc) if role == "QC" else []

    def manager_of(self, user: str) -> str | None:
        return None

    def existing_users(self, users: object) -> set[str]:
        return set(users)  # type: ignore[arg-type]


def templates(people: dict) -> dict[tuple[int, int, int], dict]:
    """(business, requester index, stage) -> the rows of such a ticket, times left open."""
    from flowdesk import engine

    defn = people["version"].definition
    ids = {u.username: u.pk for t in people["businesses"] for r in PER_BUSINESS for u in t[r]}
    ids.update({u.username: u.pk for u in people["qc"]})
    ids[engine.SYSTEM_ACTOR] = None  # rows name the system as no one
    out = {}
    for b, team in enumerate(people["businesses"]):
        directory = TeamDirectory(team, people["qc"])
        for r, requester in enumerate(team["product"]):
            ctx = engine.Context(PLACEHOLDER, requester.username, team["business"].key, directory)
            handlers = {
                "test": team["test"][r % 4].username,
                "ops": team["ops"][r % 4].username,
                "QC": people["qc"][r % QC_USERS].username,
            }
            results = [engine.start(defn, ctx, actor=requester.username, values=SUBMIT)]
            # The checksum step, completed by the system as a worker does (no person acts).
            (check,) = engine.open_tasks(results[0].state)
            results.append(
                engine.complete(
                    defn, results[0].state, ctx, task=check, actor=engine.SYSTEM_ACTOR, values={}
                )
            )
            for role, action, values in STEPS:
                state = results[-1].state
                (task,) = engine.open_tasks(state)
                act = engine.approve if action == "approve" else engine.complete
                results.append(
                    act(defn, state, ctx, task=task, actor=handlers[role], values=values)
                )
            for stage in range(STAGES):
                out[b, r, stage] = rows_of(results[: stage + 2], ids, people, b, requester.pk)
    return out


def rows_of(results: list, ids: dict, people: dict, b: int, requester: int) -> dict:
    """What the service layer would have written after these engine results."""
    from flowdesk import engine

    roles, business = people["roles"], people["businesses"][b]["business"]
    state = results[-1].state
    tasks, events, participants = {}, [], set()
    kinds = ["submitted", "automation_succeeded", "completed", "approved", "completed",
             "completed"]  # fmt: skip
    values = [SUBMIT, {}, TEST_PASS, {}, RELEASE, QC]
    for step, result in enumerate(results):
        actor, node, key = requester, "submit", None
        for effect in result.effects:
            if isinstance(effect, engine.TaskClosed):
                tasks[effect.task]["closed"] = (effect.outcome, ids[effect.by])
                actor, node, key = ids[effect.by], effect.node, effect.task
        if actor is not None:
            participants.add(actor)
        events.append((kinds[step], actor, node, key, {"source": "api", "values": values[step]}))
        for effect in result.effects:
            if isinstance(effect, engine.TaskOpened):
                candidates = [ids[c] for c in effect.candidates]
                sources = [roles[s["role"]].pk for s in effect.sources]
                tasks[effect.task] = {
                    "node": effect.node,
                    "closed": None,
                    "candidates": candidates,
                    "sources": sources,
                }
                participants.update(candidates)
                data = {"candidates": list(effect.candidates), "assignee": None}
                events.append(("assigned", None, effect.node, effect.task, data))
            elif isinstance(effect, engine.TicketEnded):
                data = {"status": effect.status, "reason": effect.reason}
                events.append(("ended", None, "", None, data))
    text = json.dumps(state)
    assert "\\" not in text and "\t" not in text  # safe in COPY's text format as is
    return {
        "status": state["status"],
        "state": text,
        "tasks": tasks,
        "events": [(k, a, n, t, json.dumps(d)) for k, a, n, t, d in events],
        "participants": participants,
        "business": business.pk,
    }


# --- COPY ----------------------------------------------------------------------------------------


def generate(start: int, stop: int, people: dict, shapes: dict) -> None:
    """Tickets start..stop-1 (ids start+1..stop), with their tasks, candidates and events."""
    from django.db import connection

    rng = random.Random(start)
    version, services = people["version"].pk, [s.pk for s in people["services"]]
    requesters = [[u.pk for u in t["product"]] for t in people["businesses"]]
    ids = next_ids()
    buffers: dict[str, list[str]] = {name: [] for name in BIG_TABLES}
    with connection.cursor() as cursor:
        raw = cursor.connection
        with tqdm(total=stop - start, desc=f"tickets {start:,}-{stop:,}", unit="ticket") as bar:
            for i in range(start, stop):
                b, r = i % BUSINESSES, rng.randrange(PER_BUSINESS["product"])
                stage = rng.randrange(STAGES - 1) if rng.random() < OPEN_SHARE else STAGES - 1
                shape = shapes[b, r, stage]
                ticket = i + 1
                at = (EPOCH + SPACING * i).isoformat()
                ended = at if shape["status"] == "finished" else "\\N"
                buffers["tickets_ticket"].append(
                    f"{ticket}\tCRQ{(EPOCH + SPACING * i):%Y%m%d}{i % 1_000_000:06d}\t"
                    f"Release {i}\t{services[i % SERVICES]}\t{version}\t{shape['business']}\t"
                    f"{requesters[b][r]}\t{shape['status']}\t"
                    f"{shape['state'].replace(PLACEHOLDER, at)}\t{at}\t{at}\t{ended}\n"
                )
                add_rows(buffers, ids, ticket, at, shape)
                if len(buffers["tickets_ticket"]) >= 5000:
                    flush(raw, buffers)
                    bar.update(5000)
            flush(raw, buffers)
            bar.update(bar.total - bar.n)
        for name in BIG_TABLES:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {name}))"
            )
        # As autovacuum leaves a table in service: statistics, and the visibility map that lets
        # the planner count on index-only scans (COPY leaves it empty).
        cursor.execute("VACUUM ANALYZE")


def next_ids() -> dict[str, itertools.count]:
    from django.db import connection

    ids = {}
    with connection.cursor() as cursor:
        for name in BIG_TABLES:
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {name}")
            ids[name] = itertools.count(cursor.fetchone()[0] + 1)
    return ids


def add_rows(buffers: dict, ids: dict, ticket: int, at: str, shape: dict) -> None:
    for key, task in shape["tasks"].items():
        task_id = next(ids["tickets_task"])
        if task["closed"]:
            outcome, by = task["closed"]
            buffers["tickets_task"].append(
                f"{task_id}\t{ticket}\t{key}\t{task['node']}\tclosed\t{outcome}\t\\N\tf\t"
                f"{by or NULL}\t{at}\t{at}\n"
            )
            continue
        buffers["tickets_task"].append(
            f"{task_id}\t{ticket}\t{key}\t{task['node']}\topen\t\t\\N\tf\t\\N\t{at}\t\\N\n"
        )
        for user in task["candidates"]:
            buffers["tickets_taskcandidate"].append(
                f"{next(ids['tickets_taskcandidate'])}\t{task_id}\t{user}\tf\n"
            )
        for role in task["sources"]:
            business = "\\N" if task["node"] == "qc_review" else shape["business"]
            buffers["tickets_tasksource"].append(
                f"{next(ids['tickets_tasksource'])}\t{task_id}\t{role}\t{business}\n"
            )
    for user in shape["participants"]:
        buffers["tickets_ticketparticipant"].append(
            f"{next(ids['tickets_ticketparticipant'])}\t{ticket}\t{user}\n"
        )
    for seq, (kind, actor, node, key, data) in enumerate(shape["events"], start=1):
        buffers["tickets_event"].append(
            f"{next(ids['tickets_event'])}\t{ticket}\t{seq}\t{kind}\t{actor or NULL}\t{at}\t"
            f"{node}\t{key or NULL}\t{data}\n"
        )


COLUMNS = {
    "tickets_ticket": "id, sn, title, service_id, version_id, business_id, requester_id, status, "
    "state, created_at, updated_at, ended_at",
    "tickets_task": "id, ticket_id, key, node_id, status, outcome, assignee_id, claim, "
    "handled_by_id, created_at, closed_at",
    "tickets_taskcandidate": "id, task_id, user_id, fixed",
    "tickets_tasksource": "id, task_id, role_id, business_id",
    "tickets_ticketparticipant": "id, ticket_id, user_id",
    "tickets_event": "id, ticket_id, seq, kind, actor_id, at, node_id, task_key, data",
}


def flush(raw: object, buffers: dict[str, list[str]]) -> None:
    with raw.transaction():  # type: ignore[attr-defined]
        cur = raw.cursor()  # type: ignore[attr-defined]
        for name in BIG_TABLES:  # parents before children
            if buffers[name]:
                with cur.copy(f"COPY {name} ({COLUMNS[name]}) FROM STDIN") as copy:
                    copy.write("".join(buffers[name]))
                buffers[name].clear()


# --- the queries ---------------------------------------------------------------------------------


def queries(people: dict, tickets: int) -> dict[str, Callable[[int], object]]:
    """name -> f(sample index) evaluating what a page or an endpoint runs."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from flowdesk.api.filtersets import TaskFilterSet
    from flowdesk.tickets import queries as q
    from flowdesk.tickets.access import access_ticket
    from flowdesk.tickets.filtersets import TicketFilterSet
    from flowdesk.tickets.models import Task, Ticket, open_tasks_for

    admin = get_user_model().objects.get(username="admin")
    teams = people["businesses"]
    testers = [u for t in teams for u in t["test"]]
    requesters = [u for t in teams for u in t["product"]]
    qc = people["qc"]
    sample = [
        Ticket.objects.filter(pk=1 + (k * 7919) % tickets).values_list("sn", "requester_id")[0]
        for k in range(SAMPLES)
    ]
    users = {u.pk: u for u in requesters}

    def todo(user: object) -> list:
        return list(open_tasks_for(user)[:20])

    def todo_api(user: object) -> list:
        # What TaskViewSet.visible() starts from for `todo=1`: the candidate rows, no visibility.
        base = Task.objects.filter(candidates__user=user)
        request = SimpleNamespace(user=user)
        qs = TaskFilterSet({"todo": "true"}, queryset=base, request=request).qs
        return list(qs.select_related("ticket__version", "ticket__service").order_by("id")[:21])

    def detail(k: int) -> None:
        sn, requester = sample[k]
        user = users[requester]
        ticket = access_ticket(user, sn)
        events = list(q.history(ticket))  # as the page: one read of the history serves all
        q.snapshots(ticket, events), q.current_steps(ticket), q.end_reason(ticket, events)
        q.ticket_actions(user, ticket)
        list(ticket.tasks.filter(status="open"))

    def listed(user: object, data: dict) -> list:
        base = Ticket.objects.visible_to(user).select_related("service", "business", "requester")
        qs = TicketFilterSet(data, queryset=base, request=SimpleNamespace(user=user)).qs
        return list(qs.order_by("-id")[:21])

    browsers: dict[int, Client] = {}

    def workbench(user: object) -> None:
        """The whole workbench page (to-do tab) rendered, as a signed-in browser gets it."""
        if (browser := browsers.get(user.pk)) is None:
            browser = browsers[user.pk] = Client(HTTP_HOST="127.0.0.1")
            browser.force_login(user)
        response = browser.get("/")
        assert response.status_code == 200, response.status_code

    return {
        "workbench page (HTML), tester": lambda k: workbench(testers[k % len(testers)]),
        "to-do list, tester (page)": lambda k: todo(testers[k % len(testers)]),
        "to-do list, QC (page)": lambda k: todo(qc[k % len(qc)]),
        "to-do list, tester (API)": lambda k: todo_api(testers[k % len(testers)]),
        "to-do list, QC (API)": lambda k: todo_api(qc[k % len(qc)]),
        "my requests": lambda k: listed(requesters[k % len(requesters)], {"scope": "mine"}),
        "ticket detail": detail,
        "search by serial, requester": lambda k: listed(users[sample[k][1]], {"q": sample[k][0]}),
        "search by serial, admin": lambda k: listed(admin, {"q": sample[k][0]}),
        "filtered list: service+running, tester": lambda k: listed(
            testers[k % len(testers)],
            {"service": f"release-{k % SERVICES:02d}", "status": ["running"]},
        ),  # fmt: skip
        "filtered list: business+finished, admin": lambda k: listed(
            admin, {"business": f"biz-{k % BUSINESSES:02d}", "status": ["finished"]}
        ),
    }


def measure(people: dict, tickets: int) -> dict[str, dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    runs = queries(people, tickets)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for k in range(SAMPLES):  # kinds interleaved, so noise hits all alike
        for name, run in runs.items():
            start = time.perf_counter()
            run(k)
            times[name].append(time.perf_counter() - start)
    out = {}
    for name, run in runs.items():
        with CaptureQueriesContext(connection) as captured:
            run(0)
        plans = [explain(query["sql"]) for query in captured.captured_queries]
        scans = sorted({scan for plan in plans for scan in unindexed(plan)})
        out[name] = {**summary_ms(times[name]), "queries": len(plans), "seq_scans": scans,
                     "explain": plans}  # fmt: skip
    return out


def unindexed(plan: str) -> list[str]:
    """Ticket tables a plan reads whole: a sequential scan, or an index walked without an index
    condition (reading every row in index order, filtering)."""
    found = []
    nodes = plan.split("->")
    for node in nodes:
        for name in BIG_TABLES:
            if f" on {name} " not in node and not node.rstrip().endswith(f" on {name}"):
                continue
            if "Seq Scan" in node:
                found.append(f"{name} (seq scan)")
            elif "Index" in node and "Index Cond" not in node and "Bitmap" not in node:
                found.append(f"{name} (whole index)")
    return found


def explain(sql: str) -> str:
    from django.db import connection

    if not sql.lstrip().upper().startswith("SELECT"):
        return f"(not a SELECT) {sql[:80]}"
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="up to 1M tickets (make bench-full)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--scales",
        type=lambda text: tuple(int(n) for n in text.split(",")),
        help="ticket counts to measure at, ascending (default 10000; --full: 10000,100000,1000000)",
    )
    args = parser.parse_args()
    mode = "full" if args.full else "quick"
    if not postgres_available():
        skip(NAME, "PostgreSQL is not reachable (set BENCH_PG=postgres://user@host:port)")
        return
    scales = args.scales or ((10_000, 100_000, 1_000_000) if args.full else (10_000,))
    results, timings = {}, {}
    began = time.perf_counter()
    with bench_database("flowdesk_bench_million", keep=args.keep) as url:
        database = setup_django(url)
        people = load_directory()
        shapes = templates(people)
        done = 0
        for scale in scales:
            start = time.perf_counter()
            generate(done, scale, people, shapes)
            timings[scale] = {"generate_s": time.perf_counter() - start}
            done = scale
            log(f"{scale:,} tickets; measuring…")
            results[scale] = measure(people, scale)
            timings[scale]["size"] = database_size()
    write_report(mode, database, scales, results, timings, time.perf_counter() - began)


def database_size() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        return cursor.fetchone()[0]


def write_report(mode: str, database: str, scales: tuple, results: dict, timings: dict,
                 total: float) -> None:  # fmt: skip
    first, last = scales[0], scales[-1]
    rows = []
    for name in results[first]:
        row = [name]
        for scale in scales:
            row += [results[scale][name]["p50_ms"], results[scale][name]["p95_ms"]]
        p95 = results[last][name]["p95_ms"]
        growth = p95 / results[first][name]["p95_ms"]
        scans = results[last][name]["seq_scans"]
        goal_30 = p95 <= GOAL_MS if name.startswith(("to-do", "ticket detail")) else "-"
        row += [results[last][name]["queries"], ", ".join(scans) or "none", goal_30,
                f"{growth:.2f}x " + ("met" if growth <= GROWTH_GOAL else "NOT MET")]  # fmt: skip
        rows.append(row)
    headers = ["query"]
    for scale in scales:
        headers += [f"p50 ms @{scale:,}", f"p95 ms @{scale:,}"]
    headers += ["SQL statements", "ticket tables read whole", "p95 <= 30 ms",
                f"p95 @{last:,} vs @{first:,} (goal <= 2x)"]  # fmt: skip
    tables = [
        table(f"{NAME}: server-side query times ({database})", headers, rows),
        table(
            "A million tickets: generation",
            ["tickets", "COPY time s", "database size"],
            [[s, timings[s]["generate_s"], timings[s]["size"]] for s in scales],
        ),
    ]
    print(f"total time including people and measuring: {total / 60:.1f} min")
    data = {"database": database, "timings": timings, "total_s": total, "results": results}
    write_results("million", mode, data, tables)


if __name__ == "__main__":
    main()
