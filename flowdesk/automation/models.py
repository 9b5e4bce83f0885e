"""Automation runs: one row per attempt at an automation step (an HTTP call or a checksum check).

A run is written in the transaction that opens the step, so a crash between the ticket action
and the call loses nothing: the sweep finds the run and makes the call. Only the hash of a
callback token is kept; the request is stored as sent, with secrets redacted.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from flowdesk.tickets.models import Task, Ticket

# How much of a response body a run keeps (the rest is of no use on the ticket page).
BODY_LIMIT = 4000


class AutomationRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        WAITING_CALLBACK = "waiting_callback", _("waiting for the callback")
        POLLING = "polling", _("polling")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("skipped")
        COMPLETED_BY_HAND = "completed_by_hand", _("completed by hand")
        CANCELLED = "cancelled", _("cancelled")

    # Still waiting for an answer: the run may yet complete or fail its step.
    OPEN = (Status.RUNNING, Status.WAITING_CALLBACK, Status.POLLING)

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="automation_runs")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="automation_runs")
    node_id = models.CharField(_("node"), max_length=64)
    attempt = models.PositiveIntegerField(_("attempt"))
    action = models.CharField(_("action"), max_length=10)  # http | checksum
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.RUNNING
    )
    request = models.JSONField(_("request as sent"), default=dict, blank=True)  # secrets redacted
    response_status = models.PositiveIntegerField(_("response status"), null=True, blank=True)
    response_body = models.TextField(_("response body (shortened)"), blank=True)
    error = models.TextField(_("error"), blank=True)
    # A checksum check: url, size, md5, sha256, expected, match. A polled call: its first
    # answer (`response`), which the poll's templates read.
    result = models.JSONField(_("result"), default=dict, blank=True)
    # An answer that came while the ticket was suspended, applied when it runs again.
    pending = models.JSONField(null=True, blank=True)
    callback_token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    next_poll_at = models.DateTimeField(_("next poll"), null=True, blank=True)
    # A worker holds the run while it works on it; an expired lease means the worker died.
    leased_until = models.DateTimeField(null=True, blank=True)
    lease = models.CharField(max_length=32, blank=True)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["ticket", "task", "attempt"]
        constraints = [
            models.UniqueConstraint(fields=["task", "attempt"], name="unique_run_attempt")
        ]
        indexes = [
            models.Index(fields=["status", "next_poll_at"], name="automation_run_due"),
            models.Index(fields=["ticket", "status"], name="automation_run_ticket"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}/{self.node_id}#{self.attempt} {self.status}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    def summary(self) -> dict:
        """What a ticket event and the audit log keep of the run (plain JSON)."""
        summary = {
            "run": self.pk,
            "attempt": self.attempt,
            "action": self.action,
            "status": self.status,
        }
        if self.request:
            summary["request"] = {"method": self.request["method"], "url": self.request["url"]}
        if self.response_status is not None:
            summary["response_status"] = self.response_status
        if self.action == "checksum" and self.result:  # which package, which digests
            summary["result"] = self.result
        if self.error:
            summary["error"] = self.error
        return summary
