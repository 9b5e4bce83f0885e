"""Working on automation runs in the background: the call, the polls, the deadlines.

A worker *claims* a run with a lease (a conditional update), so two workers never work on one
attempt at once; the lease is renewed while the call or download goes on. A worker that dies
leaves a lease that expires, and the sweep runs the attempt again (the call carries the same
`Idempotency-Key`, so the other system can tell a repeat). Outcomes go through the actions in
actions.py, which lock the ticket: whatever a late or duplicate worker does, a run ends once.
"""

import json
import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from flowdesk import engine, worker
from flowdesk.automation import calls
from flowdesk.automation.actions import RunClosed, do_fail_automation, do_finish_automation
from flowdesk.automation.models import BODY_LIMIT, AutomationRun
from flowdesk.automation.rendering import AutomationError, Outgoing, prepare
from flowdesk.automation.signing import callback_token
from flowdesk.engine.automation import Automation, HttpRequest, response_value
from flowdesk.tickets.models import Ticket

log = logging.getLogger(__name__)
Status = AutomationRun.Status

LEASE = timedelta(minutes=5)  # plus the step's timeout while a call is under way
RENEW_EVERY = timedelta(seconds=30)
RECHECK = timedelta(minutes=1)  # a suspended ticket is looked at again after this
BATCH = 20
IDEMPOTENCY_HEADER = "Idempotency-Key"

# {"outcome": "success", "values": {...}} or {"outcome": "failure", "error": "..."}
Outcome = dict[str, Any]


def success(values: dict) -> Outcome:
    return {"outcome": "success", "values": values}


def failure(error: str) -> Outcome:
    return {"outcome": "failure", "error": error}


class LeaseLost(Exception):
    """Another worker took the run over (this one was too slow): stop working on it."""


class Lease:
    """This worker's hold on a claimed run; every write goes through it and fails once lost."""

    def __init__(self, run: AutomationRun) -> None:
        self.run = run
        self.expires = run.leased_until
        self.span = LEASE

    def keep(self, span: timedelta | None = None) -> None:
        """Renew the lease to a full `span` (at most every RENEW_EVERY): called before each
        attempt and while a download streams."""
        self.span = span or self.span
        now = timezone.now()
        if self.expires - now >= self.span - RENEW_EVERY:
            return
        self.update(leased_until=now + self.span)
        self.expires = now + self.span

    def update(self, **fields: object) -> None:
        if not AutomationRun.objects.filter(pk=self.run.pk, lease=self.run.lease).update(**fields):
            raise LeaseLost(self.run.pk)

    def release(self, **fields: object) -> None:
        self.update(leased_until=None, lease="", **fields)


# --- claiming ---------------------------------------------------------------------------------


def _due(now: Any) -> Q:
    return (
        Q(status=Status.RUNNING)
        | Q(status=Status.POLLING, next_poll_at__lte=now)
        | Q(status__in=(Status.WAITING_CALLBACK, Status.POLLING), deadline__lte=now)
    )


def claim(run_ids: list[int] | None = None, limit: int = BATCH) -> list[AutomationRun]:
    """Lease runs with work due (those named, or any): new and orphaned attempts, due polls,
    passed deadlines."""
    due = AutomationRun.objects.filter(_due(timezone.now()))
    if run_ids is not None:
        due = due.filter(pk__in=run_ids)
    ids, token = worker.lease_rows(due, order="pk", limit=limit, lease=LEASE)
    return list(
        AutomationRun.objects.filter(pk__in=ids, lease=token).select_related(
            "ticket__version", "ticket__service", "ticket__business", "ticket__requester", "task"
        )
    )


def run_claimed(run_ids: list[int] | None = None) -> int:
    """Claim and work on runs; how many were worked on."""
    return sum(work(run) for run in claim(run_ids))


def sweep() -> int:
    """The worker's periodic sweep: everything due, batch by batch, until asked to stop."""
    done = 0
    while batch := claim():
        for i, run in enumerate(batch):
            if worker.stopping.is_set():
                ids = [r.pk for r in batch[i:]]
                AutomationRun.objects.filter(pk__in=ids, lease=run.lease).update(
                    leased_until=None, lease=""
                )
                return done
            done += work(run)
        if len(batch) < BATCH:
            break
    return done


def work(run: AutomationRun) -> bool:
    """Do what the claimed run needs now; False when the lease was lost on the way."""
    lease = Lease(run)
    try:
        if run.status == Status.RUNNING:
            _run(run, lease)
        elif run.deadline is not None and run.deadline <= timezone.now():
            _expire(run, lease)
        else:
            _poll(run, lease)
    except LeaseLost:
        log.info("automation run %s: lease lost to another worker", run.pk)
        return False
    except Exception:  # one broken run must not stop the others; its lease expires, it is retried
        log.exception("automation run %s failed unexpectedly", run.pk)
        return False
    return True


# --- the attempt ------------------------------------------------------------------------------


def _run(run: AutomationRun, lease: Lease) -> None:
    if run.pending is not None:
        _apply(run, lease, run.pending)
        return
    if run.ticket.status == Ticket.Status.SUSPENDED:
        lease.update(leased_until=timezone.now() + RECHECK)  # nothing is sent while suspended
        return
    automation = _automation(run)
    try:
        if automation.action == "checksum":
            outcome = _checksum(run, lease, automation)
        else:
            outcome = _call(run, lease, automation)
    except AutomationError as error:
        outcome = failure(str(error))
    if outcome is not None:
        _apply(run, lease, outcome)


def _call(run: AutomationRun, lease: Lease, automation: Automation) -> Outcome | None:
    """Make the HTTP call; the outcome, or None when the run now waits (callback or poll)."""
    request = automation.request
    token = token_hash = None
    if automation.wait == "callback":
        token, token_hash = callback_token(run.pk)
    callback_url = token and settings.FLOWDESK_BASE_URL + reverse(
        "api:automation-callback", args=[token]
    )
    outgoing, shown = prepare(request, run.ticket, callback_url=callback_url, extra={})
    key = {IDEMPOTENCY_HEADER: f"flowdesk-run-{run.pk}"}
    outgoing = replace(outgoing, headers={**key, **outgoing.headers})
    shown["headers"] = {**key, **shown["headers"]}
    lease.update(request=shown, callback_token_hash=token_hash, error="")
    lease.keep(LEASE + timedelta(seconds=request.timeout))
    try:
        answer = calls.call(
            outgoing, timeout=request.timeout, retries=automation.retries, keep_alive=lease.keep
        )
    except calls.CallFailed as error:
        _keep_answer(lease, error.answer, outgoing)
        return failure(outgoing.redact(str(error)))
    _keep_answer(lease, answer, outgoing)
    now = timezone.now()
    if automation.wait == "callback":
        deadline = now + timedelta(seconds=automation.callback.timeout)
        lease.release(status=Status.WAITING_CALLBACK, deadline=deadline)
        return None
    if automation.wait == "poll":
        poll = automation.poll
        lease.release(
            status=Status.POLLING,
            deadline=now + timedelta(seconds=poll.timeout),
            next_poll_at=now + timedelta(seconds=poll.interval),
            result={"response": outgoing.redact(answer.data)},  # the poll templates' `response`
        )
        return None
    return success(outputs(automation, answer.data))


def _poll(run: AutomationRun, lease: Lease) -> None:
    """One look at the status URL: success, failure, or look again after the interval."""
    automation = _automation(run)
    poll = automation.poll
    status_request = HttpRequest(url=poll.url, method="GET", headers=automation.request.headers)
    later = timezone.now() + timedelta(seconds=poll.interval)
    try:
        outgoing, _shown = prepare(
            status_request,
            run.ticket,
            extra={"response": run.result.get("response")},
            where="poll.url",
        )
        answer = calls.get_json(outgoing, timeout=automation.request.timeout)
    except calls.CallFailed as error:  # the status URL may be down for a while: look again
        _keep_answer(lease, error.answer, outgoing)
        lease.release(next_poll_at=later, error=f"Last poll: {outgoing.redact(str(error))}")
        return
    except AutomationError as error:
        _apply(run, lease, failure(str(error)))
        return
    _keep_answer(lease, answer, outgoing)
    if poll.failure is not None and poll.failure.holds(answer.data):
        _apply(run, lease, failure(_condition_message("failure", poll.failure, answer.data)))
    elif poll.success.holds(answer.data):
        try:
            outcome = success(outputs(automation, answer.data))
        except AutomationError as error:
            outcome = failure(str(error))
        _apply(run, lease, outcome)
    else:
        lease.release(next_poll_at=later, error="")


def _expire(run: AutomationRun, lease: Lease) -> None:
    automation = _automation(run)
    if run.status == Status.WAITING_CALLBACK:
        error = f"No callback came within {_duration(automation.callback.timeout)}."
    else:
        error = f"The job did not finish within {_duration(automation.poll.timeout)}."
        if run.error:
            error += f" {run.error}"
    _apply(run, lease, failure(error))


def _checksum(run: AutomationRun, lease: Lease, automation: Automation) -> Outcome:
    """Download the package named by the URL field and compare its digests with the fields."""
    check = automation.checksum
    values = run.ticket.values
    url = str(values.get(check.url_field) or "").strip()
    if not url:
        return failure(f"The field '{check.url_field}' is empty: there is no package to check.")
    fields = (("md5", check.md5_field), ("sha256", check.sha256_field))
    expected = {
        algorithm: str(values[field]).strip().lower()
        for algorithm, field in fields
        if field and values.get(field)
    }
    if not expected:
        names = " and ".join(f"'{field}'" for _, field in fields if field)
        return failure(f"The field {names} is empty: there is no checksum to compare with.")
    result = {"url": url, "expected": expected, "match": None}
    request = {"method": "GET", "url": url, "headers": {}, "body": None}
    lease.update(request=request, result=result, error="")
    timeout = settings.FLOWDESK_CHECKSUM_TIMEOUT
    lease.keep(LEASE + timedelta(seconds=timeout))
    digests = calls.download_digests(
        url,
        timeout=timeout,
        retries=automation.retries,
        max_bytes=settings.FLOWDESK_CHECKSUM_MAX_MB * 2**20,
        keep_alive=lease.keep,
    )
    actual = {"md5": digests.md5, "sha256": digests.sha256}
    match = all(actual[algorithm] == value for algorithm, value in expected.items())
    result |= {"size": digests.size, **actual, "match": match}
    lease.update(result=result)
    if match:
        return success({})
    wrong = "; ".join(
        f"{algorithm.upper()} {actual[algorithm]}, expected {value}"
        for algorithm, value in expected.items()
        if actual[algorithm] != value
    )
    return failure(f"The package at {url} does not match its checksum: {wrong}.")


# --- outcomes ---------------------------------------------------------------------------------


def _apply(
    run: AutomationRun, lease: Lease | None, outcome: Outcome, source: str = "system"
) -> str:
    """Complete or fail the step. Returns the run's status after: a ticket suspended meanwhile
    keeps the outcome for later (`running`, with `pending`), applied once it runs again."""
    try:
        if outcome["outcome"] == "success":
            try:
                do_finish_automation(run, outcome["values"], source=source)
                return Status.SUCCEEDED
            except engine.InvalidValues as error:
                if lease is None:  # a callback: its sender is told, the run waits on
                    raise
                outcome = failure(f"The answer does not fit the step's fields. {error.message}")
            except engine.NoOperator as error:  # the next step has nobody: fail visibly
                outcome = failure(f"The step succeeded, but the ticket cannot go on: {error}")
        do_fail_automation(run, outcome["error"], source=source)
        return Status.FAILED
    except engine.NotRunning as error:
        if error.status != "suspended":
            return Status.CANCELLED
        fields = {
            "status": Status.RUNNING,
            "pending": outcome,
            "leased_until": timezone.now() + RECHECK,
        }
        if lease is not None:
            lease.update(**fields)
        else:  # a callback: a worker still making the call must not undo this
            AutomationRun.objects.filter(pk=run.pk, status__in=AutomationRun.OPEN).update(
                lease="", **fields
            )
        return Status.RUNNING
    except RunClosed as error:  # someone stepped in by hand, or another worker was quicker
        return error.run.status


def waiting_for_callback() -> Q:
    """Runs a callback may report on: waiting, or still making the call (a quick system may
    call back before it answers); not one that keeps a reported outcome (a used token)."""
    return Q(status=Status.WAITING_CALLBACK) | Q(status=Status.RUNNING, pending__isnull=True)


def apply_callback(run: AutomationRun, outcome: Outcome) -> str:
    """The outcome a signed callback brought (source "api"); see _apply."""
    return _apply(run, None, outcome, source="api")


def outputs(automation: Automation, response: object) -> dict:
    """The step's field values read from a JSON answer by the `outputs` paths."""
    values = {}
    for field, path in automation.outputs:
        try:
            values[field] = response_value(response, path)
        except LookupError as error:
            raise AutomationError(f"Output '{field}': {error}") from None
    return values


# --- helpers ----------------------------------------------------------------------------------


def _automation(run: AutomationRun) -> Automation:
    return run.ticket.version.definition.node(run.node_id).automation


def _keep_answer(lease: Lease, answer: calls.Answer | None, outgoing: Outgoing) -> None:
    if answer is not None:
        body = outgoing.redact(answer.text)[:BODY_LIMIT]
        lease.update(response_status=answer.status, response_body=body)


def _condition_message(kind: str, condition: Any, response: object) -> str:
    actual = response_value(response, condition.path)
    return f"The status says {kind}: '{condition.path}' is {json.dumps(actual)}."


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n]
    return "".join(parts) or "0s"
