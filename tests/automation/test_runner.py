"""Workers and runs: a run is claimed by one worker at a time, a dead worker's run is picked up
by the sweep, a slow worker that lost its lease stops, and runs follow the ticket's status."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from flowdesk import worker
from flowdesk.automation import runner
from flowdesk.automation.models import AutomationRun
from flowdesk.tickets.actions import (
    do_resume_ticket,
    do_suspend_ticket,
    do_terminate_ticket,
)
from tests.automation.conftest import Reply, automation_service, run_of, work

Status = AutomationRun.Status


@pytest.fixture
def service(system, users):
    system.reply("/deploy", Reply(200, {"id": "D-1"}))
    return automation_service(
        "deploy-runner",
        {
            "action": "http",
            "request": {"url": system.url + "/deploy", "body": {"v": "{{ values.version }}"}},
            "outputs": {"deploy_id": "id"},
        },
    )


def expire_lease(run: AutomationRun) -> None:
    AutomationRun.objects.filter(pk=run.pk).update(
        leased_until=timezone.now() - timedelta(seconds=1)
    )


@pytest.mark.django_db
def test_a_claimed_run_is_not_claimed_again_while_its_lease_holds(service, submit):
    run = run_of(submit(service))

    (mine,) = runner.claim([run.pk])

    assert mine.leased_until > timezone.now() + timedelta(minutes=4)
    assert runner.claim([run.pk]) == [] and runner.claim() == []


@pytest.mark.django_db
def test_the_sweep_picks_up_the_run_of_a_worker_that_died(service, submit, system):
    ticket = submit(service)
    run = run_of(ticket)
    runner.claim([run.pk])  # a worker took it, then died before calling
    assert runner.run_claimed([run.pk]) == 0 and runner.sweep() == 0

    expire_lease(run)
    assert runner.sweep() == 1

    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED and len(system.seen) == 1
    ticket.refresh_from_db()
    assert ticket.values["deploy_id"] == "D-1"


@pytest.mark.django_db
def test_a_worker_that_lost_its_lease_does_not_finish_the_run(service, submit, system):
    run = run_of(submit(service))
    (slow,) = runner.claim([run.pk])
    expire_lease(run)
    assert work(run).status == Status.SUCCEEDED  # another worker took over and finished

    assert runner.work(slow) is False
    assert len(system.seen) == 1


@pytest.mark.django_db
def test_nothing_is_sent_while_the_ticket_is_suspended(service, submit, system, users):
    ticket = submit(service)
    run = run_of(ticket)
    do_suspend_ticket(ticket, actor=users.admin, reason="freeze")

    run = work(run)

    assert system.seen == [] and run.status == Status.RUNNING
    assert run.leased_until > timezone.now() + timedelta(seconds=50)  # looked at again later
    do_resume_ticket(ticket, actor=users.admin)
    expire_lease(run)
    runner.sweep()
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED and len(system.seen) == 1


@pytest.mark.django_db
def test_a_run_whose_ticket_ended_is_cancelled(service, submit, system, users):
    ticket = submit(service)
    run = run_of(ticket)

    do_terminate_ticket(ticket, actor=users.admin, reason="not needed")

    run.refresh_from_db()
    assert run.status == Status.CANCELLED and run.finished_at is not None
    assert runner.sweep() == 0 and system.seen == []


@pytest.mark.django_db
def test_a_stopping_worker_hands_its_claimed_runs_back(service, submit, system):
    run = run_of(submit(service))
    worker.stopping.set()
    try:
        assert runner.sweep() == 0
    finally:
        worker.stopping.clear()
    run.refresh_from_db()
    assert run.leased_until is None and system.seen == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_racing_for_one_run_call_once(service, submit, system):
    run = run_of(submit(service))
    barrier = threading.Barrier(6)

    def race(_: int) -> int:
        try:
            barrier.wait()
            return runner.run_claimed([run.pk])
        finally:
            connection.close()

    with ThreadPoolExecutor(6) as pool:
        worked = list(pool.map(race, range(6)))

    assert sum(worked) == 1 and len(system.seen) == 1
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED
