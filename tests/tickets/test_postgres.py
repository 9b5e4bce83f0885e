"""What only PostgreSQL can show: real concurrency under row locks, and the to-do query plan."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from flowdesk.directory.actions import do_add_role_member, do_save_user
from flowdesk.directory.models import Business, Role
from flowdesk.engine import TaskNotOpen
from flowdesk.tickets import actions
from flowdesk.tickets.models import Task, TaskCandidate, Ticket, open_tasks_for

from .test_release_scenario import TEST_PASS, submit, todo

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
THREADS = 8


def run_together(fn, args):
    """Run fn(arg) for every arg in its own thread, released at the same moment."""
    barrier = threading.Barrier(len(args))

    def call(arg):
        try:
            barrier.wait()
            return fn(arg)
        finally:
            connection.close()

    with ThreadPoolExecutor(len(args)) as pool:
        return list(pool.map(call, args))


def test_concurrent_approvals_of_one_task_produce_exactly_one_success(release_service, users):
    ops, game_a = Role.objects.get(key="ops"), Business.objects.get(key="game-a")
    approvers = [users.ops_carol]
    for i in range(THREADS - 1):
        user, _ = do_save_user(f"ops_{i}", email=f"ops_{i}@example.com", actor=None)
        do_add_role_member(ops, user, business=game_a, actor=None)
        approvers.append(user)
    ticket = submit(release_service, users.pm_alice)
    actions.do_complete_task(todo(users.test_bob, ticket), actor=users.test_bob, values=TEST_PASS)
    task = todo(users.ops_carol, ticket)

    def approve(user):
        try:
            actions.do_approve_task(task, actor=user, source="api")
            return "approved"
        except TaskNotOpen as exc:
            return str(exc)

    results = run_together(approve, approvers)

    assert results.count("approved") == 1
    winner = approvers[results.index("approved")].username
    losers = [r for r in results if r != "approved"]
    assert all(f"already handled by {winner} at" in r for r in losers)
    assert ticket.events.filter(kind="approved").count() == 1
    release_tasks = Task.objects.filter(ticket=ticket, node_id="release")
    assert release_tasks.count() == 1  # the next step opened once


def test_concurrent_submissions_get_distinct_consecutive_serials(release_service, users):
    alice = users.pm_alice
    sns = run_together(lambda _: submit(release_service, alice).sn, range(THREADS))
    numbers = sorted(int(sn[-6:]) for sn in sns)
    assert len(set(sns)) == THREADS
    assert numbers == list(range(numbers[0], numbers[0] + THREADS))


def test_membership_changes_during_ticket_actions_leave_every_candidate_right(
    release_service, users
):
    """Testers complete their steps (closing test tasks, opening ops tasks) while a tester and
    an ops person join their roles: the new ops member is a candidate of every ops task, and
    no closed task keeps a candidate (flowdesk/directory/locks.py orders the two)."""
    test, ops = Role.objects.get(key="test"), Role.objects.get(key="ops")
    game_a = Business.objects.get(key="game-a")
    bob = users.test_bob
    tickets = [submit(release_service, users.pm_alice) for _ in range(THREADS - 2)]
    tester, _ = do_save_user("test_new", email="test_new@example.com", actor=None)
    operator, _ = do_save_user("ops_new", email="ops_new@example.com", actor=None)

    def work(item):
        if item == "tester joins":
            return do_add_role_member(test, tester, business=game_a, actor=None)
        if item == "operator joins":
            return do_add_role_member(ops, operator, business=game_a, actor=None)
        return actions.do_complete_task(todo(bob, item), actor=bob, values=TEST_PASS)

    run_together(work, [*tickets, "tester joins", "operator joins"])

    ops_tasks = Task.objects.filter(node_id="coordinate", status=Task.Status.OPEN)
    assert ops_tasks.count() == len(tickets)
    assert {task.ticket_id for task in open_tasks_for(operator)} == {t.pk for t in tickets}
    assert not TaskCandidate.objects.filter(task__status=Task.Status.CLOSED).exists()
    assert not open_tasks_for(tester).exists()


def test_todo_query_uses_an_index(release_service, users):
    """Many users and candidates: finding one user's open tasks must not scan the table."""
    ticket = submit(release_service, users.pm_alice)
    User = get_user_model()
    User.objects.bulk_create(User(username=f"bulk_{i}") for i in range(3000))
    bulk_users = list(
        User.objects.filter(username__startswith="bulk_").values_list("pk", flat=True)
    )
    tasks = Task.objects.bulk_create(
        Task(ticket=ticket, key=1000 + i, node_id="test_confirm") for i in range(20)
    )
    TaskCandidate.objects.bulk_create(
        TaskCandidate(task=task, user_id=uid) for task in tasks for uid in bulk_users
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    plan = open_tasks_for(users.test_bob).explain()
    assert "Index" in plan, plan
    assert "Seq Scan on tickets_taskcandidate" not in plan, plan
    assert list(open_tasks_for(users.test_bob).values_list("ticket", flat=True)) == [ticket.pk]
    assert Ticket.objects.count() == 1
