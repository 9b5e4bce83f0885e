"""AutomationRun: one row per attempt, and the summary its events carry."""

import pytest
from django.db import IntegrityError, transaction

from flowdesk.automation.models import AutomationRun
from tests.automation.conftest import run_of

pytestmark = pytest.mark.django_db


def test_one_run_per_attempt(failed):
    _ticket, run = failed
    with pytest.raises(IntegrityError), transaction.atomic():
        AutomationRun.objects.create(
            ticket=run.ticket, task=run.task, node_id=run.node_id, attempt=1, action="http"
        )


def test_the_summary_names_the_call_but_not_its_headers_or_body(failed):
    ticket, _run = failed
    summary = run_of(ticket).summary()
    assert set(summary) == {
        "run",
        "attempt",
        "action",
        "status",
        "request",
        "response_status",
        "error",
    }
    assert set(summary["request"]) == {"method", "url"}
