"""The notification outbox and what admins configure: templates and chat/webhook endpoints."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from flowdesk.catalog.models import Service
from flowdesk.tickets.models import Ticket

EVENTS = (
    ("task_opened", _("new to-do")),
    ("reminder", _("to-do reminder")),
    ("approved", _("approved")),
    ("rejected", _("rejected")),
    ("returned", _("returned")),
    ("transferred", _("transferred to you")),
    ("finished", _("ticket finished")),
    ("terminated", _("ticket terminated")),
    ("withdrawn", _("ticket withdrawn")),
    ("urged", _("urged")),
    ("sla_warning", _("SLA warning")),
    ("sla_breach", _("SLA breach")),
    ("automation_failed", _("automation failed")),
)


class Endpoint(models.Model):
    """Where chat messages and webhooks go: an incoming-webhook URL of a chat tool, or any
    HTTPS endpoint that takes Flowdesk's signed JSON events."""

    class Kind(models.TextChoices):
        WEBHOOK = "webhook", _("JSON webhook (HMAC-signed)")
        WECOM = "wecom", _("WeCom group robot")
        DINGTALK = "dingtalk", _("DingTalk robot")
        FEISHU = "feishu", _("Feishu / Lark bot")
        SLACK = "slack", _("Slack incoming webhook")

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=200, blank=True)
    service = models.ForeignKey(
        Service,
        verbose_name=_("service"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="endpoints",
        help_text=_("Empty: every service."),
    )
    events = models.JSONField(_("events"), default=list, blank=True)  # empty: all
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class NotificationTemplate(models.Model):
    """An admin's version of one event's message in one language (else the shipped default)."""

    event = models.CharField(_("event"), max_length=20, choices=EVENTS)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=300)
    html = models.TextField(_("HTML body"))
    text = models.TextField(_("text body"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "language"], name="unique_template_language")
        ]

    def __str__(self) -> str:
        return f"{self.event} ({self.language})"


class Delivery(models.Model):
    """One message to send, written in the transaction of the action that caused it (outbox).

    `key` is the idempotency key: the same event never yields two rows for one recipient, and
    every attempt carries it (Message-ID, `Idempotency-Key` header) so a receiver can drop a
    repeat when a worker died between sending and recording."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("e-mail")
        ENDPOINT = "endpoint", _("chat / webhook")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    key = models.CharField(max_length=200, unique=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # a notification event (EVENTS) for e-mail and chat; the ticket event kind for webhooks
    event = models.CharField(max_length=20)
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    endpoint = models.ForeignKey(
        Endpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    address = models.CharField(max_length=500, blank=True)  # e-mail address or URL, as sent
    payload = models.JSONField(default=dict)  # what the message says, frozen at the event
    status = models.CharField(max_length=7, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    leased_until = models.DateTimeField(null=True, blank=True)
    lease = models.CharField(max_length=32, blank=True)
    last_error = models.TextField(blank=True)
    response = models.TextField(blank=True)  # what the receiver answered, shortened
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return self.key

    @property
    def event_label(self) -> str:
        """The notification event's name (a webhook's ticket event kind as it is)."""
        return str(dict(EVENTS).get(self.event, self.event))
