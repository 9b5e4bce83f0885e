"""Work calendars (the hours an SLA counts) and timers (what fires when: SLA warnings and
breaches, to-do reminders, timer nodes).

A timer row is written in the transaction of the action that opened its step, and fired exactly
once by `actions.do_fire_timer` (docs/sla.md).
"""

from datetime import time

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from flowdesk import engine
from flowdesk.tickets.models import Task, Ticket

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


def _workdays() -> list[int]:
    return [0, 1, 2, 3, 4]


class WorkCalendar(models.Model):
    """Working hours that a node's `sla.calendar` or `timer.calendar` names."""

    name = models.SlugField(_("name"), max_length=64, unique=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC")
    weekdays = models.JSONField(_("working days"), default=_workdays)  # 0 = Monday … 6 = Sunday
    start = models.TimeField(_("working day starts"), default=time(9))
    end = models.TimeField(_("working day ends"), default=time(18))
    holidays = models.JSONField(_("holidays"), default=list, blank=True)  # ["YYYY-MM-DD", ...]
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("work calendar")
        verbose_name_plural = _("work calendars")

    def __str__(self) -> str:
        return self.name

    @property
    def key(self) -> str:
        """What workflow nodes name it by (and the audit log's id for it)."""
        return self.name

    def to_engine(self) -> engine.WorkCalendar:
        """The engine's calendar; ValueError with a sentence when a value is wrong."""
        return engine.WorkCalendar.from_json(
            {
                "timezone": self.timezone,
                "weekdays": self.weekdays,
                "start": f"{self.start:%H:%M}",
                "end": f"{self.end:%H:%M}",
                "holidays": self.holidays,
            }
        )

    def clean(self) -> None:
        """Each value checked by the engine's own rules, its message put on its field."""
        checks = {
            "timezone": lambda: engine.WorkCalendar(timezone=self.timezone),
            "weekdays": lambda: engine.WorkCalendar.from_json({"weekdays": self.weekdays}),
            "holidays": lambda: engine.WorkCalendar.from_json({"holidays": self.holidays}),
        }
        if isinstance(self.start, time) and isinstance(self.end, time):  # else a field error
            checks["end"] = lambda: engine.WorkCalendar(start=self.start, end=self.end)
        errors = {}
        for name, check in checks.items():
            try:
                check()
            except ValueError as error:
                errors[name] = str(error)
        if errors:
            raise ValidationError(errors)


class TimerQuerySet(models.QuerySet):
    def live(self) -> "TimerQuerySet":
        """Timers that may still fire (paused ones once the ticket is resumed)."""
        return self.filter(status__in=(Timer.Status.PENDING, Timer.Status.PAUSED))


class Timer(models.Model):
    class Kind(models.TextChoices):
        SLA_WARNING = "sla_warning", _("SLA warning")
        SLA_BREACH = "sla_breach", _("SLA breach")
        REMINDER = "reminder", _("to-do reminder")
        TIMER_NODE = "timer_node", _("timer step")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        PAUSED = "paused", _("paused")
        FIRED = "fired", _("fired")
        CANCELLED = "cancelled", _("cancelled")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="timers")
    task = models.ForeignKey(
        Task, null=True, blank=True, on_delete=models.CASCADE, related_name="timers"
    )
    node_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.PENDING)
    due_at = models.DateTimeField()
    # While paused: the working seconds that were left; None for a fixed moment (a timer node
    # waiting for a datetime field), which a suspension does not move.
    remaining_seconds = models.PositiveBigIntegerField(null=True, blank=True)
    calendar = models.CharField(max_length=64, blank=True)  # a WorkCalendar name; "" wall clock
    created_at = models.DateTimeField(auto_now_add=True)
    fired_at = models.DateTimeField(null=True, blank=True)

    objects = TimerQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [
            # The sweep's question: pending timers due by now, oldest first.
            models.Index(
                fields=["due_at"], condition=Q(status="pending"), name="timer_pending_due"
            ),
            models.Index(fields=["ticket", "status"], name="timer_ticket_status"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.ticket_id}/{self.node_id} at {self.due_at:%Y-%m-%dT%H:%M:%SZ}"
