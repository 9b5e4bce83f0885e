"""State changes of notifications that admins make: message templates, "retry now", and the
chat and webhook endpoints.

Each runs in its own durable transaction, writes an audit entry, and refuses anyone but a
Flowdesk admin (`actor` None: the local operator at the command line).
"""

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from flowdesk.audit.recording import record
from flowdesk.catalog.models import Service
from flowdesk.notify import outbox
from flowdesk.notify.access import can_manage_notifications
from flowdesk.notify.endpoints import (
    SIGNED_KINDS,
    masked_url,
    trial_delivery,
    validate_endpoint,
)
from flowdesk.notify.models import EVENTS, Delivery, Endpoint, NotificationTemplate
from flowdesk.notify.rendering import PARTS, template_errors

Actor = AbstractBaseUser | None


def _check_admin(actor: Actor) -> None:
    if actor is not None and not can_manage_notifications(actor):
        raise PermissionDenied("Only Flowdesk admins may manage notifications.")


def check_template_key(event: str, language: str) -> None:
    """ValidationError naming the event or language that Flowdesk has no template for."""
    events, languages = dict(EVENTS), dict(settings.LANGUAGES)
    if event not in events:
        raise ValidationError({"event": f"No event {event!r}; one of {', '.join(events)}."})
    if language not in languages:
        raise ValidationError(
            {"language": f"No language {language!r}; one of {', '.join(languages)}."}
        )


def _label(event: str, language: str) -> str:
    return f"notification template {event}/{language}"


def do_save_template(
    event: str, language: str, *, subject: str, html: str, text: str, actor: Actor
) -> NotificationTemplate:
    """Replace the shipped message of `event` in `language` with this one.

    Each part must render against a sample ticket; a ValidationError names the parts that do
    not, with the template engine's message, and nothing is saved."""
    _check_admin(actor)
    check_template_key(event, language)
    # Browsers send line breaks as CRLF; store them as the shipped templates have them.
    parts = {
        part: value.replace("\r\n", "\n")
        for part, value in {"subject": subject, "html": html, "text": text}.items()
    }
    if errors := template_errors(event, language, parts):
        raise ValidationError(errors)
    with transaction.atomic(durable=True):
        row = (
            NotificationTemplate.objects.select_for_update()
            .filter(event=event, language=language)
            .first()
        )
        before = {part: getattr(row, part) for part in PARTS} if row else {}
        changed = [part for part in PARTS if before.get(part) != parts[part]]
        if not changed:
            return row
        row = row or NotificationTemplate(event=event, language=language)
        for part in PARTS:
            setattr(row, part, parts[part])
        row.full_clean()
        row.save()
        record(
            "notification_template.saved",
            actor=actor,
            obj_type="notification_template",
            obj_id=f"{event}/{language}",
            label=_label(event, language),
            data={
                "created": not before,
                "before": {part: before.get(part) for part in changed},
                "after": {part: parts[part] for part in changed},
            },
        )
    return row


def do_reset_template(event: str, language: str, *, actor: Actor) -> bool:
    """Go back to the shipped message; False when it was not changed in the first place."""
    _check_admin(actor)
    check_template_key(event, language)
    with transaction.atomic(durable=True):
        row = (
            NotificationTemplate.objects.select_for_update()
            .filter(event=event, language=language)
            .first()
        )
        if row is None:
            return False
        record(
            "notification_template.reset",
            actor=actor,
            obj_type="notification_template",
            obj_id=f"{event}/{language}",
            label=_label(event, language),
            data={"before": {part: getattr(row, part) for part in PARTS}},
        )
        row.delete()
    return True


def do_retry_delivery(delivery: Delivery, *, actor: Actor) -> Delivery:
    """Make a failed or pending delivery due now and wake a worker once this commits.

    It keeps its attempts: a failed delivery that fails once more is failed again at once."""
    _check_admin(actor)
    with transaction.atomic(durable=True):
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.status == Delivery.Status.SENT:
            raise ValidationError(f"Delivery {delivery.key} was sent already; nothing to retry.")
        record(
            "delivery.retried",
            actor=actor,
            obj_type="delivery",
            obj_id=delivery.key,
            label=f"delivery {delivery.key}",
            data={
                "status": delivery.status,
                "attempts": delivery.attempts,
                "last_error": delivery.last_error,
            },
        )
        delivery.status = Delivery.Status.PENDING
        delivery.next_attempt_at = timezone.now()
        delivery.save(update_fields=["status", "next_attempt_at"])
        key = delivery.key
        transaction.on_commit(lambda: outbox.wake([key]))
    return delivery


# --- chat and webhook endpoints (docs/notifications.md#chat-and-webhooks) ----------------------


def do_save_endpoint(
    endpoint: Endpoint | None,
    *,
    name: str,
    kind: str,
    url: str,
    secret: str = "",
    service: Service | None = None,
    events: Iterable[str] = (),
    is_active: bool = True,
    actor: Actor,
) -> Endpoint:
    """Create (`endpoint` None) or change an endpoint. An empty `secret` keeps the current one;
    a kind that signs nothing keeps none."""
    _check_admin(actor)
    with transaction.atomic(durable=True):
        row = Endpoint.objects.select_for_update().get(pk=endpoint.pk) if endpoint else Endpoint()
        before = _endpoint_audit(row) if row.pk else {}
        row.name, row.kind, row.url = name.strip(), kind, url.strip()
        row.service, row.events, row.is_active = service, list(events), is_active
        if secret:
            row.secret = secret
        elif kind not in SIGNED_KINDS:
            row.secret = ""
        row.full_clean()
        validate_endpoint(row)
        row.save()
        after = _endpoint_audit(row)
        if changed := [key for key in after if before.get(key) != after[key]]:
            record(
                "endpoint.saved",
                actor=actor,
                obj_type="endpoint",
                obj_id=row.pk,
                label=f"endpoint {row.name}",
                data={
                    "created": not before,
                    "before": {key: _shown(key, before.get(key)) for key in changed},
                    "after": {key: _shown(key, after[key]) for key in changed},
                },
            )
    return row


def do_delete_endpoint(endpoint: Endpoint, *, actor: Actor) -> None:
    """Delete an endpoint with its delivery log (untick "active" to pause it instead)."""
    _check_admin(actor)
    with transaction.atomic(durable=True):
        row = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        record(
            "endpoint.deleted",
            actor=actor,
            obj_type="endpoint",
            obj_id=row.pk,
            label=f"endpoint {row.name}",
            data={key: _shown(key, value) for key, value in _endpoint_audit(row).items()},
        )
        row.delete()


def do_test_endpoint(endpoint: Endpoint, *, actor: Actor) -> Delivery:
    """Queue a sample message to the endpoint; its outcome shows in the endpoint's log."""
    _check_admin(actor)
    with transaction.atomic(durable=True):
        (delivery,) = outbox.enqueue([trial_delivery(endpoint, actor)])
        record(
            "endpoint.tested",
            actor=actor,
            obj_type="endpoint",
            obj_id=endpoint.pk,
            label=f"endpoint {endpoint.name}",
            data={"delivery": delivery.key},
        )
    return delivery


def _endpoint_audit(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "name": endpoint.name,
        "kind": endpoint.kind,
        "url": endpoint.url,
        "secret": endpoint.secret,
        "service": endpoint.service.key if endpoint.service else None,
        "events": list(endpoint.events),
        "is_active": endpoint.is_active,
    }


def _shown(key: str, value: Any) -> Any:
    """What the audit log may show: never the secret, nor the token in a chat tool's URL."""
    if key == "secret":
        return "(set)" if value else "(none)"
    if key == "url" and value:
        return masked_url(value)
    return value
